// The C API of yolo: train, resume, validate and predict from a C (or C++) program with the
// arguments of the `yolo` command, which is itself a thin user of this API.
//
//     #include <yolo/yolo.h>
//     cc app.c $(pkg-config --cflags --libs yolo)
//
// Arguments. A yolo_args holds the words of a command line: yolo_args_parse takes them as
// `yolo` does (`detect train data=coco8.yaml epochs=3`), yolo_args_set one key=value at a time.
// Each call checks every word so far with the command's own rules and messages (Ultralytics'
// grammar: unknown keys with the closest valid ones, types, ranges, cfg=FILE, deprecated keys);
// a rejected word is not kept. `yolo cfg` lists every key with its default. The functions that
// run (yolo_train, yolo_val, yolo_predict) set the mode themselves; yolo_run runs the mode the
// words name, or a special word (help, version, cfg, copy-cfg, checks), exactly as `yolo` does.
// The task is a word too: yolo_args_set(a, "task", "segment"); detect when not given.
//
// Results. Functions that run return the exit status the `yolo` command would: YOLO_OK (0),
// YOLO_FAILED (1: the run failed: a missing file, a damaged checkpoint...), YOLO_USAGE (2: an
// argument is wrong), or YOLO_SIGINT / YOLO_SIGTERM (130, 143: training was interrupted by the
// signal after saving last.ckpt at the exact position, as the run printed; resume it with
// resume=True model=<that last.ckpt>). After YOLO_FAILED or YOLO_USAGE, yolo_error() says what
// went wrong, naming the file or the key, the value and the fix.
//
// Output. Runs print what the command prints (progress, tables, "Results saved to ...") on
// standard output, and the warnings of the arguments on standard error; verbose=False quiets
// what it quiets on the command line. Files go where the command writes them: runs/TASK/NAME
// (PROJECT/NAME with project=) from the current directory, datasets in $YOLO_DATASETS_DIR or
// ./datasets. Model and dataset names without a path (yolov8n.yaml, coco8.yaml) are looked up
// in $YOLO_CONFIG_DIR when it is set, else in the installed copy (<prefix>/share/yolo, put there
// by meson install), else in the configs/ folder of the source tree the library was built from
// (`yolo checks` shows which).
//
// Threads and state. yolo_error() is per thread. Everything else keeps no state between calls:
// a program may train, validate and predict any number of times in sequence. Runs are not meant
// to overlap in one process: yolo_train installs SIGINT and SIGTERM handlers while it runs (to
// save last.ckpt on Ctrl-C) and restores the previous ones when it returns, and every run uses
// all cores. A yolo_args is not locked: do not change it while a run reads it. One process-wide
// setting stays changed: OpenBLAS is set to one thread (the library's own thread pool runs its
// matrix products), which matters to a program that calls OpenBLAS itself.
//
// Linking. libyolo is built both shared and static; `pkg-config --libs yolo` links the shared
// one, `pkg-config --static --libs yolo` lists what a static link needs. Only the functions below
// are exported by the shared library. The static archive also holds the engine's internal
// functions, which have no yolo_ prefix: a program linking it statically must not define
// functions of the same names.
#ifndef YOLO_YOLO_H
#define YOLO_YOLO_H

#include <stddef.h>
#include <stdint.h>

#include "yolo/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define YOLO_API __attribute__((visibility("default")))
#else
#define YOLO_API
#endif

// Exit statuses, as the `yolo` command returns them.
enum {
    YOLO_OK = 0,
    YOLO_FAILED = 1,
    YOLO_USAGE = 2,
    YOLO_SIGINT = 130,  // 128 + SIGINT: training stopped by Ctrl-C, last.ckpt saved
    YOLO_SIGTERM = 143, // 128 + SIGTERM
};

enum {
    YOLO_PATH_MAX = 4096,  // room for a run folder's path
    YOLO_MAX_METRICS = 8,  // most metrics a task reports
    YOLO_TOP_K = 5,        // top classes a classifier's prediction lists
};

// The library's version, "MAJOR.MINOR.PATCH" (YOLO_VERSION is the headers').
YOLO_API const char *yolo_version(void);

// The message of the last failure on this thread: what failed, naming the file or key, the
// value and the fix. "" after a call that did not fail (YOLO_OK, YOLO_SIGINT, YOLO_SIGTERM).
YOLO_API const char *yolo_error(void);

// ---- Arguments -------------------------------------------------------------------------------

typedef struct yolo_args yolo_args;

// Empty arguments: every key at its default. NULL when out of memory (yolo_error() says so).
YOLO_API yolo_args *yolo_args_create(void);
YOLO_API void yolo_args_destroy(yolo_args *args); // NULL is fine

// Adds key=value as if written on the command line after the words so far (a later value of a
// key replaces an earlier one; cfg=FILE replaces everything before it). value is text, typed as
// the command types it: "3", "0.01", "True", "[0, 2]", "runs/x". YOLO_OK, or YOLO_USAGE with the
// message in yolo_error() (the key and value are then not kept): yolo_args_set(a, "epoch", "3")
// gives "'epoch' is not a valid YOLO argument. Similar arguments are i.e. ['epochs=100']."
YOLO_API int yolo_args_set(yolo_args *args, const char *key, const char *value);

// Adds the words of a command line after the program name (argv[1..]), e.g. {"detect", "train",
// "epochs=3"}: TASK and MODE words, key=value words with the command's '=' merges ("imgsz =
// 320"), bare bool keys (save_txt), special words. YOLO_OK, or YOLO_USAGE with the message in
// yolo_error(); on failure none of these words are kept.
YOLO_API int yolo_args_parse(yolo_args *args, int argc, char *const *argv);

// The value of key after the words so far, as `yolo cfg` and args.yaml show values ("100",
// "0.01", "True", "None", "[0, 2]"), with the defaults the command fills in (model and data per
// task, imgsz 224 for classify). YOLO_OK, YOLO_USAGE for an unknown key, YOLO_FAILED when out
// does not hold cap bytes of it.
YOLO_API int yolo_args_get(const yolo_args *args, const char *key, char *out, size_t cap);

// The warnings ("WARNING: ...\n" lines, "" for none) of the last yolo_args_set or
// yolo_args_parse, whether it succeeded or not (a deprecated key renamed, '--' dropped). The run
// functions print them on standard error themselves.
YOLO_API const char *yolo_args_warnings(const yolo_args *args);

// ---- Running ---------------------------------------------------------------------------------

// `yolo TASK train ...`: trains a new run, or resumes one with resume=True (model= the
// last.ckpt; alone, the newest runs/*/*/weights/last.ckpt) or resume=PATH. Returns when the run
// finished (YOLO_OK), failed, or was interrupted (YOLO_SIGINT, YOLO_SIGTERM). The run folder
// (runs/detect/train2, with weights/best.ckpt and weights/last.ckpt) goes into run_dir[cap]
// when run_dir is not NULL ("" when the run failed before it had one).
YOLO_API int yolo_train(const yolo_args *args, char *run_dir, size_t cap);

// A validation's results: the task's metrics in its results.csv order, and the folder written
// (metrics.json, plots).
typedef struct {
    const char *task;                      // "detect", "segment", "classify"
    int n;                                 // metrics in names and values
    const char *names[YOLO_MAX_METRICS];   // "metrics/precision(B)", ..., "metrics/mAP50-95(B)"
    double values[YOLO_MAX_METRICS];
    double fitness;                        // what picks best.ckpt (detect: 0.1 mAP50 + 0.9 mAP50-95)
    char run_dir[YOLO_PATH_MAX];           // runs/detect/val2
} yolo_metrics;

// `yolo TASK val model=PATH ...`: validates a checkpoint (or a model YAML's random weights) on
// the dataset it trained on, or data= split=. Fills *metrics when not NULL (zeroed on failure).
YOLO_API int yolo_val(const yolo_args *args, yolo_metrics *metrics);

// One image's result, given to yolo_predict's callback. Pointers stay valid during the call only.
typedef struct {
    const char *path;     // the image file
    int index, count;     // this is image index (from 0) of count in the source
    int width, height;    // the image's size in pixels
    const char *run_dir;  // the folder its annotated image and label file went to; "" with save=False and save_txt=False
    int nc;               // the model's classes, with their names (the class number as text
    const char *const *names; // where the checkpoint records none): names[class]

    // detect, segment: n objects, the best score first.
    int n;
    const float *boxes;   // [n][4]: x1, y1, x2, y2 in the image's pixels (clipped to it)
    const float *scores;  // [n]
    const int *classes;   // [n]

    // segment: one mask per object on a grid of mask_w x mask_h cells (0 and NULL for other
    // tasks): masks[(i * mask_h + my) * mask_w + mx] is 1 inside object i. Pixel (x, y) of the
    // image lies in cell mx = floor((x + 0.5) * mask_scale_x + mask_offset_x), my likewise;
    // yolo_mask_at does this.
    int mask_w, mask_h;
    const uint8_t *masks;
    float mask_scale_x, mask_scale_y, mask_offset_x, mask_offset_y;

    // classify: the n_top most probable classes, the most probable first (0 for other tasks).
    int n_top;
    int top_classes[YOLO_TOP_K];
    float top_scores[YOLO_TOP_K];

    double preprocess_ms, inference_ms, postprocess_ms;
} yolo_prediction;

// Called once per image, in source order, after the image is saved. Return 0 to go on, non-zero
// to stop after this image (yolo_predict then returns YOLO_OK).
typedef int (*yolo_predict_fn)(const yolo_prediction *prediction, void *ctx);

// `yolo TASK predict model=PATH source=...`: source is an image, a folder, a glob or a .txt list;
// conf, iou, max_det, classes, imgsz as on the command line. Saves annotated images (save=True,
// the default) and label files (save_txt=True) as the command does; save=False writes nothing.
// callback may be NULL.
YOLO_API int yolo_predict(const yolo_args *args, yolo_predict_fn callback, void *ctx);

// Whether pixel (x, y) of the image belongs to object i's mask: 1 yes, 0 no (also outside the
// image, or without masks).
YOLO_API int yolo_mask_at(const yolo_prediction *prediction, int i, int x, int y);

// What `yolo` does with these words: the mode they name (train when none: with a warning, as the
// command), or a special word (help, version, cfg, copy-cfg, checks), printing as the command
// does. No words: the help.
YOLO_API int yolo_run(const yolo_args *args);

// `yolo checkpoint PATH`: prints what a .ckpt holds (task, position, fitness, the arguments that
// differ from the defaults, the dataset's fingerprint) and checks it whole. YOLO_OK when whole,
// YOLO_FAILED when damaged or unreadable.
YOLO_API int yolo_checkpoint_report(const char *path);

#ifdef __cplusplus
}
#endif

#endif
