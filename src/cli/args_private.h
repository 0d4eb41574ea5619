// Shared by args.c (the key table, typing and formatting), args_parse.c (the grammar) and
// args_yaml.c (YAML in and out). Not for other callers: they use cli/args.h.
#ifndef YOLO_CLI_ARGS_PRIVATE_H
#define YOLO_CLI_ARGS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/args.h"

// The C type of a key's field in Args.
typedef enum { F_BOOL, F_INT, F_FLOAT, F_TEXT, F_VALUE } FieldType;

// One key: its field and what values it takes.
typedef struct {
    const char *name;
    FieldType field;
    size_t offset;
    unsigned accept;     // F_VALUE: bit (1 << ArgsKind) for each kind taken
    double lo, hi;       // numbers and list items must lie in [lo, hi]
    bool lo_open;        // (lo, hi] instead
    bool nullable;       // None allowed (default.yaml leaves it empty)
    bool info_only;      // nc: not in default.yaml, only for `yolo TASK info`
    const char *choices; // strings allowed, comma-separated; NULL: any
    const char *example; // a valid value for hints where the default is None
    const char *expect;  // F_VALUE: what the key takes, for type errors ("an int or ...")
} KeySpec;

extern const KeySpec ARGS_KEYS[];
extern const int ARGS_N_KEYS;

// Index of a key in ARGS_KEYS, or -1.
int args_key_index(const char *name);

// s without leading and trailing white space (cut in place).
char *args_trim(char *s);
// Whether s is one of the NULL-terminated words.
bool args_is_one_of(const char *s, const char *const *words);

// Beyond ArgsKind: a value of a Python type no key takes (a list of floats, a map); only its
// text and type name are kept, for the message.
#define ARGS_OTHER ((ArgsKind)(ARGS_LIST + 1))

// A value as written, before it is checked against its key.
typedef struct {
    ArgValue v;                // kind may be ARGS_OTHER
    const char *type;          // Python's type name, for messages: NoneType, bool, int, float, str, list, tuple, dict
    char text[ARGS_TEXT_MAX];  // as written, for messages
} RawValue;

// Types text as Ultralytics' smart_value does (literal_eval limited to what keys take).
int args_smart_value(const char *text, RawValue *out);

// Python truthiness, for the inverted deprecated keys (hide_labels -> show_labels).
bool args_truthy(const RawValue *r);

// Checks r against key k and stores it in a. origin ("file.yaml:3" or "") prefixes messages.
int args_assign(Args *a, int k, const RawValue *r, const char *origin);

// A valid value of key k for hints ("i.e. 'epochs=100'"): the example of keys whose default is
// None, otherwise the value a holds (the default: keys are assigned once, onto the defaults).
void args_example(const Args *a, int k, char *out, size_t cap);

// The value of key k of a, as an ArgValue (none for an empty string).
void args_field_value(const Args *a, int k, ArgValue *out);

// Whether s is a Python int or float literal (as literal_eval reads one); if so, out is typed.
bool args_literal_number(const char *s, RawValue *out);

// str(v) in Python ("True", "None", "0.01", "[0, 2]"); repr(f) of a float ("1e-05", "0.5").
void args_format_py(const ArgValue *v, char *out, size_t cap);
void args_format_float(double f, char *out, size_t cap);

// A key=value gathered from the command line or a YAML map, in the order given.
typedef struct {
    char key[ARGS_TEXT_MAX];
    int index; // in ARGS_KEYS; -1 until looked up, ARGS_DROPPED for a removed deprecated key
    RawValue value;
    char origin[ARGS_TEXT_MAX];
} Override;

enum { ARGS_DROPPED = -2 };

typedef struct {
    Override *items;
    int n, cap;
} Overrides;

// Appends an entry (index -1); NULL when out of memory (with the message set).
Override *overrides_push(Overrides *o, const char *key, const RawValue *value, const char *origin);
void overrides_free(Overrides *o);

// The key: value pairs of a YAML map; where names the text in origins ("my.yaml" -> "my.yaml:3").
int args_yaml_overrides(const char *text, const char *where, Overrides *out);

// The same for a YAML file (at most 1 MiB).
int args_yaml_file_overrides(const char *path, Overrides *out);

// Ultralytics' check_dict_alignment: renames deprecated keys (hide_labels -> show_labels, ...)
// and drops removed ones with a warning in cmd (NULL: no warnings), looks every key up, and
// fails naming each unknown key with the closest valid ones ("Similar arguments are i.e.
// ['epochs=100']"); defaults gives the values shown.
int args_align(Overrides *o, const Args *defaults, ArgsCommand *cmd);

// Stores the overrides in a (the last one of a key wins) in default.yaml order, and marks them
// given. Every index must be resolved (>= 0 or ARGS_DROPPED).
int args_apply(Args *a, const Overrides *o);

#endif
