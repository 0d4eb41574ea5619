// The arguments of `yolo`: one typed field per key of configs/default.yaml (the file is built
// into the program), the command-line grammar of Ultralytics' `yolo` (ultralytics-behaviour.md
// §1), and args.yaml, the resolved arguments of a run that checkpoints also store.
//
// A struct rather than lookups by name: the trainer reads `a->epochs` and the compiler checks
// the name and the type. The grammar itself works by name through a table of the same fields.
#ifndef YOLO_CLI_ARGS_H
#define YOLO_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

enum {
    ARGS_TEXT_MAX = 1024,     // longest string value + 1 (paths, names)
    ARGS_LIST_MAX = 256,      // most items of a list value (classes=[...], freeze=[...], device=0,1)
    ARGS_MAX_KEYS = 96,       // room in Args.given; the table has fewer keys (checked at build)
    ARGS_WARNINGS_MAX = 4096, // ArgsCommand.warnings
};

typedef enum { ARGS_NONE, ARGS_BOOL, ARGS_INT, ARGS_FLOAT, ARGS_STR, ARGS_LIST } ArgsKind;

// A key whose value may have more than one type (device=cpu|0|0,1, cache=True|ram, ...). kind
// says which member holds it; the comment of each such field in Args lists the kinds it takes.
// Ints are range-checked to fit an int.
typedef struct {
    ArgsKind kind;
    bool b;                       // ARGS_BOOL
    long long i;                  // ARGS_INT
    double f;                     // ARGS_FLOAT
    int n;                        // ARGS_LIST: number of items
    long long list[ARGS_LIST_MAX]; // ARGS_LIST: the items, always ints
    char s[ARGS_TEXT_MAX];        // ARGS_STR
} ArgValue;

// Every argument, in default.yaml's order. Strings are "" when none (model and data are filled
// per task after parsing, see args_parse). Numbers carry the ranges of ultralytics-behaviour.md §1.
typedef struct {
    // Task and mode
    char task[ARGS_TEXT_MAX]; // detect | segment | classify
    char mode[ARGS_TEXT_MAX]; // train | val | predict | info
    // Train
    char model[ARGS_TEXT_MAX];
    char data[ARGS_TEXT_MAX];
    int epochs;          // >= 1
    ArgValue time;       // none | float hours >= 0
    int patience;        // >= 0
    int batch;           // >= 1 (no AutoBatch)
    int imgsz;           // 32..8192
    bool save;
    int save_period;     // off when < 1
    double save_minutes; // >= 0, 0: off
    ArgValue cache;      // bool | "ram"
    ArgValue device;     // none | int | string ("cpu") | list of ints
    int workers;         // >= 0
    char project[ARGS_TEXT_MAX];
    char name[ARGS_TEXT_MAX];
    bool exist_ok;
    ArgValue pretrained; // bool | string (a checkpoint path)
    char optimizer[ARGS_TEXT_MAX]; // SGD | Adam | AdamW | auto
    bool verbose;
    int seed; // >= 0
    bool deterministic, single_cls, rect, cos_lr;
    int close_mosaic; // >= 0
    ArgValue resume;  // bool | string (a checkpoint path)
    bool amp;
    double fraction;  // (0, 1]
    ArgValue freeze;  // none | int >= 0 | list of ints >= 0
    bool multi_scale, overlap_mask;
    int mask_ratio;   // >= 1
    double dropout;   // [0, 1]
    // Val
    bool val;
    char split[ARGS_TEXT_MAX]; // train | val | test
    bool save_json;
    ArgValue conf;    // none | float in [0, 1]
    double iou;       // [0, 1]
    int max_det;      // >= 1
    bool half, plots;
    // Predict
    char source[ARGS_TEXT_MAX];
    bool show_labels, show_conf, save_txt, save_conf;
    ArgValue classes;    // none | int >= 0 | list of ints >= 0
    ArgValue line_width; // none | int >= 1
    // Hyperparameters: fractions in [0, 1] except lr0 in (0, 1], warmup_epochs >= 0, nbs >= 1,
    // and box, cls, dfl, degrees, shear (any number).
    double lr0, lrf, momentum, weight_decay, warmup_epochs, warmup_momentum, warmup_bias_lr;
    double box, cls, dfl;
    int nbs;
    double hsv_h, hsv_s, hsv_v, degrees, translate, scale, shear, perspective, flipud, fliplr;
    double mosaic, mixup;
    ArgValue auto_augment; // none | randaugment | autoaugment | augmix (classify)
    double erasing;
    // Not in default.yaml nor args.yaml: `yolo TASK info nc=3` (none: the model file's nc).
    ArgValue nc; // none | int in 1..100000

    bool given[ARGS_MAX_KEYS]; // set by the command line or a cfg= file; see args_given
} Args;

// What main does after args_parse: run the mode in Args.mode, or one of the special words.
typedef enum { ARGS_RUN, ARGS_HELP, ARGS_VERSION, ARGS_CFG, ARGS_COPY_CFG, ARGS_CHECKS } ArgsAction;

typedef struct {
    ArgsAction action;
    char warnings[ARGS_WARNINGS_MAX]; // "WARNING: ..." lines for the user, also on failure
} ArgsCommand;

// Fills a with the defaults of default.yaml; nothing is marked given.
int args_defaults(Args *a);

// Parses the words after the program name into defaults + overrides, as Ultralytics' entrypoint
// does: loose '=' fragments merged, --key and trailing ',' fixed with a warning, key=value typed
// like smart_value, TASK and MODE words, special words (help, version, cfg, copy-cfg, checks and
// their aliases) returned in cmd->action, a bare bool key set True, cfg=FILE replacing what came
// before it, deprecated keys renamed or dropped with a warning. Then it fills what was not given:
// mode train (warning), model and data per task (data for train and val only; neither with
// resume), imgsz 224 for classify. -1 with a message that names the key, the value and the fix.
int args_parse(Args *a, int argc, char **argv, ArgsCommand *cmd);

// args_parse in two steps, for the C API (src/api), which gathers words from calls of its own:
// args_merge_words makes the words of a command line (the '=' merges, within these words only:
// a malloc'ed array of malloc'ed strings, released by args_words_free), and args_parse_words
// parses words as they are, with args_parse's result and messages.
int args_merge_words(int argc, char *const *argv, char ***words, int *n);
void args_words_free(char **words, int n);
int args_parse_words(Args *a, int n, char *const *words, ArgsCommand *cmd);

// Whether the command line or a cfg= file set key (false for an unknown key and for values
// filled in by args_parse).
bool args_given(const Args *a, const char *key);

// The keys in default.yaml's order, for code that walks them all (resume compares them).
// args_key_count() includes info's nc, the last one.
int args_key_count(void);
const char *args_key_name(int i);

// The value of key as Python's str() shows it ("100", "0.01", "True", "None", "[0, 2]").
int args_format(const Args *a, const char *key, char *out, size_t cap);

// args.yaml: every key of default.yaml in its order, values as PyYAML writes them (true, null,
// 0.0005, lists as "- item" lines). args_to_yaml returns malloc'ed text; args_from_yaml starts
// from the defaults, requires known keys and marks each key found as given; origin names the
// text in messages (a path or "checkpoint").
int args_to_yaml(const Args *a, char **text);
int args_from_yaml(Args *a, const char *text, const char *origin);
int args_write_yaml(const Args *a, const char *path); // atomic: temporary file + rename
int args_read_yaml(Args *a, const char *path);

// configs/default.yaml as built into the program (`yolo cfg`), and writing it to path
// (`yolo copy-cfg`).
const char *args_default_yaml(void);
int args_copy_default(const char *path);

#endif
