// The command-line grammar of Ultralytics' `yolo` (entrypoint() in ultralytics/cfg/__init__.py,
// described in ultralytics-behaviour.md §1): words are taken left to right, key=value overrides
// are gathered, checked against the keys, typed, and the defaults that depend on the task filled.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/args_private.h"
#include "core/status.h"

static const char *const TASKS[] = {"detect", "segment", "classify", NULL};
static const char *const MODES[] = {"train", "val", "predict", "info", NULL};
// Ultralytics has these; naming them says more than "not a valid argument" would.
static const char *const OTHER_TASKS[] = {"pose", "obb", "semantic", "depth", NULL};
static const char *const OTHER_MODES[] = {"export", "track", "benchmark", NULL};
// TASK2MODEL and TASK2DATA, in TASKS order, with our model files and built-in datasets.
static const char *const TASK_MODEL[] = {"yolov8n.yaml", "yolov8n-seg.yaml", "yolov8n-cls.yaml"};
static const char *const TASK_DATA[] = {"shapes.yaml", "shapes-seg.yaml", "shapes-cls"};

// Ultralytics' special dict, in its order (the order decides which word a shared first letter
// means: the later one, so `c` is copy-cfg).
static const struct {
    const char *name;
    ArgsAction action;
} SPECIALS[] = {
    {"help", ARGS_HELP}, {"checks", ARGS_CHECKS}, {"version", ARGS_VERSION}, {"cfg", ARGS_CFG}, {"copy-cfg", ARGS_COPY_CFG},
};
enum { N_SPECIALS = sizeof SPECIALS / sizeof SPECIALS[0] };

static const struct {
    const char *old, *new;
    bool invert; // hide_* -> show_*
} RENAMED[] = {
    {"boxes", "show_boxes", false},
    {"hide_labels", "show_labels", true},
    {"hide_conf", "show_conf", true},
    {"line_thickness", "line_width", false},
};
static const char *const REMOVED[] = {"label_smoothing", "save_hybrid", "crop_fraction", NULL};

static void warn(ArgsCommand *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(ArgsCommand *cmd, const char *fmt, ...) {
    if (!cmd) return;
    size_t cap = sizeof cmd->warnings, len = strlen(cmd->warnings);
    if (len + 16 >= cap) return; // full: later warnings are dropped whole rather than cut
    len += (size_t)snprintf(cmd->warnings + len, cap - len, "WARNING: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd->warnings + len, cap - len - 1, fmt, ap);
    va_end(ap);
    strcat(cmd->warnings, "\n");
}

// ---- Special words -------------------------------------------------------------------------

// The action of a special word or one of its aliases, or -1. Aliases as Ultralytics builds them:
// the first letter, the singular of a plural (check), and -/-- before any of these; any case.
static int special_action(const char *word) {
    char w[32];
    size_t n = strlen(word);
    if (n >= sizeof w) return -1;
    for (size_t i = 0; i <= n; i++) w[i] = (char)(word[i] >= 'A' && word[i] <= 'Z' ? word[i] - 'A' + 'a' : word[i]);
    const char *p = w + (w[0] == '-') + (w[0] == '-' && w[1] == '-');
    int found = -1;
    for (int s = 0; s < N_SPECIALS; s++) {
        const char *name = SPECIALS[s].name;
        size_t len = strlen(name);
        bool singular = len > 1 && name[len - 1] == 's' && strlen(p) == len - 1 && !strncmp(p, name, len - 1);
        if (!strcmp(p, name) || singular) return (int)SPECIALS[s].action;
        if (p[0] == name[0] && p[1] == '\0') found = (int)SPECIALS[s].action; // the later entry wins
    }
    return found;
}

// ---- Similar keys (difflib.get_close_matches) -----------------------------------------------

// Characters in common, as SequenceMatcher(None, a, b).get_matching_blocks() counts them: the
// longest common block (earliest in a, then in b), then the same on either side of it.
static int matching_chars(const char *a, int alo, int ahi, const char *b, int blo, int bhi) {
    int best_i = alo, best_j = blo, best = 0;
    for (int i = alo; i < ahi; i++)
        for (int j = blo; j < bhi; j++) {
            int k = 0;
            while (i + k < ahi && j + k < bhi && a[i + k] == b[j + k]) k++;
            if (k > best) best_i = i, best_j = j, best = k;
        }
    if (best == 0) return 0;
    return best + matching_chars(a, alo, best_i, b, blo, best_j) + matching_chars(a, best_i + best, ahi, b, best_j + best, bhi);
}

// SequenceMatcher.ratio() with the candidate as the first sequence, as get_close_matches sets it.
static double similarity(const char *candidate, const char *word) {
    int la = (int)strlen(candidate), lb = (int)strlen(word);
    return la + lb ? 2.0 * matching_chars(candidate, 0, la, word, 0, lb) / (la + lb) : 1.0;
}

typedef struct {
    const char *name;
    double score;
} Match;

// get_close_matches(word, words, n=3, cutoff=0.6) keeps the best (score, word) pairs, so equal
// scores are ordered by word, descending.
static void consider(Match best[3], int *n, const char *name, const char *word) {
    Match m = {name, similarity(name, word)};
    if (m.score < 0.6) return;
    int at = *n;
    while (at > 0 && (best[at - 1].score < m.score || (best[at - 1].score == m.score && strcmp(best[at - 1].name, name) < 0))) at--;
    if (at == 3) return;
    if (*n < 3) (*n)++;
    memmove(&best[at + 1], &best[at], (size_t)(*n - 1 - at) * sizeof *best);
    best[at] = m;
}

// "['epochs=100', 'patience=100']": the closest of every key, task, mode and special word,
// keys shown with their default unless it is None. "" when none is close.
static void similar_arguments(const char *word, const Args *defaults, char *out, size_t cap) {
    Match best[3];
    int n = 0;
    for (int k = 0; k < ARGS_N_KEYS; k++) consider(best, &n, ARGS_KEYS[k].name, word);
    const char *const *groups[] = {TASKS, MODES};
    for (int g = 0; g < 2; g++)
        for (const char *const *w = groups[g]; *w; w++)
            if (args_key_index(*w) < 0) consider(best, &n, *w, word); // val is a key and a mode
    for (int s = 0; s < N_SPECIALS; s++) consider(best, &n, SPECIALS[s].name, word);
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < cap; i++) {
        int k = args_key_index(best[i].name);
        ArgValue v = {0};
        if (k >= 0) args_field_value(defaults, k, &v);
        char shown[ARGS_TEXT_MAX];
        args_format_py(&v, shown, sizeof shown);
        if (k >= 0 && v.kind != ARGS_NONE)
            o += (size_t)snprintf(out + o, cap - o, "%s'%s=%s'", i ? ", " : "[", best[i].name, shown);
        else
            o += (size_t)snprintf(out + o, cap - o, "%s'%s'", i ? ", " : "[", best[i].name);
    }
    if (n && o < cap) snprintf(out + o, cap - o, "]");
}

static void not_valid(const char *key, const Args *defaults, char *out, size_t cap) {
    char similar[512];
    similar_arguments(key, defaults, similar, sizeof similar);
    if (similar[0]) snprintf(out, cap, "'%s' is not a valid YOLO argument. Similar arguments are i.e. %s.", key, similar);
    else snprintf(out, cap, "'%s' is not a valid YOLO argument.", key);
}

// ---- Key check (check_dict_alignment) --------------------------------------------------------

static bool is_command_word(const char *w) {
    for (int s = 0; s < N_SPECIALS; s++)
        if (!strcmp(w, SPECIALS[s].name)) return true;
    return args_is_one_of(w, TASKS) || args_is_one_of(w, MODES);
}

int args_align(Overrides *o, const Args *defaults, ArgsCommand *cmd) {
    char message[2048] = "";
    size_t len = 0;
    for (int i = 0; i < o->n; i++) {
        Override *e = &o->items[i];
        for (size_t r = 0; r < sizeof RENAMED / sizeof RENAMED[0]; r++) {
            if (strcmp(e->key, RENAMED[r].old) != 0) continue;
            warn(cmd, "'%s' is deprecated and will be removed in the future. Use '%s' instead.", RENAMED[r].old, RENAMED[r].new);
            snprintf(e->key, sizeof e->key, "%s", RENAMED[r].new);
            if (RENAMED[r].invert) {
                bool show = !args_truthy(&e->value);
                memset(&e->value.v, 0, sizeof e->value.v);
                e->value.v = (ArgValue){.kind = ARGS_BOOL, .b = show};
                e->value.type = "bool";
                snprintf(e->value.text, sizeof e->value.text, "%s", show ? "True" : "False");
            }
        }
        if (args_is_one_of(e->key, REMOVED)) {
            warn(cmd, "'%s' is deprecated and no longer has any effect; it is ignored.", e->key);
            e->index = ARGS_DROPPED;
            continue;
        }
        e->index = args_key_index(e->key);
        if (e->index >= 0) continue;
        char line[3 * ARGS_TEXT_MAX];
        if (is_command_word(e->key))
            snprintf(line, sizeof line, "'%s' takes no value: write it alone, i.e. 'yolo %s'", e->key, e->key);
        else
            not_valid(e->key, defaults, line, sizeof line);
        if (len < sizeof message)
            len += (size_t)snprintf(message + len, sizeof message - len, "%s%s%s%s", len ? "\n" : "", e->origin,
                                    e->origin[0] ? ": " : "", line);
    }
    return len ? yolo_fail("%s", message) : 0;
}

// ---- Words ---------------------------------------------------------------------------------

typedef struct {
    char **items;
    int n, cap;
} Words;

static char *concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

// Takes ownership of s (NULL: out of memory).
static int words_push(Words *w, char *s) {
    if (s && w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        char **grown = realloc(w->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(s);
            s = NULL;
        } else {
            w->items = grown;
            w->cap = cap;
        }
    }
    if (!s) return yolo_fail("out of memory reading the command line");
    w->items[w->n++] = s;
    return 0;
}

static void words_free(Words *w) {
    for (int i = 0; i < w->n; i++) free(w->items[i]);
    free(w->items);
}

// Appends text to the last word (its owner), for the '=' merges.
static int extend_last(Words *w, const char *a, const char *b) {
    char *head = concat(w->items[w->n - 1], a), *joined = head ? concat(head, b) : NULL;
    free(head);
    if (!joined) return yolo_fail("out of memory reading the command line");
    free(w->items[w->n - 1]);
    w->items[w->n - 1] = joined;
    return 0;
}

// merge_equals_args: re-joins what the shell split around a loose '=' ("k = v", "k= v",
// "k =v") and inside brackets ("classes=[0," "2]" -> "classes=[0,2]").
static int merge_equals(int argc, char *const *argv, Words *out) {
    char *current = NULL;
    int depth = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        size_t len = strlen(arg);
        int rc = 0;
        if (!strcmp(arg, "=") && i > 0 && i < argc - 1 && out->n) {
            rc = extend_last(out, "=", argv[++i]);
        } else if (len && arg[len - 1] == '=' && i < argc - 1 && !strchr(argv[i + 1], '=')) {
            rc = words_push(out, concat(arg, argv[++i]));
        } else if (arg[0] == '=' && i > 0 && out->n) {
            rc = extend_last(out, arg, "");
        } else {
            for (const char *c = arg; *c; c++) depth += (*c == '[') - (*c == ']');
            char *joined = concat(current ? current : "", arg);
            free(current);
            current = joined;
            if (!current) rc = yolo_fail("out of memory reading the command line");
            else if (depth == 0) rc = words_push(out, current), current = NULL;
        }
        if (rc) {
            free(current);
            return -1;
        }
    }
    return current ? words_push(out, current) : 0;
}

// ---- One word --------------------------------------------------------------------------------

static int push_text(Overrides *ov, const char *key, const char *word) {
    RawValue r = {.v = {.kind = ARGS_STR}, .type = "str"};
    snprintf(r.v.s, sizeof r.v.s, "%s", word);
    snprintf(r.text, sizeof r.text, "%s", word);
    return overrides_push(ov, key, &r, "") ? 0 : -1;
}

// cfg=FILE: the file's keys replace every override gathered so far, as entrypoint() rebinds
// its dict; words after it still apply. A cfg key inside the file is ignored.
static int take_cfg(const RawValue *r, Overrides *ov) {
    if (r->v.kind == ARGS_NONE) return 0; // cfg=None: nothing to load
    const char *path = r->v.kind == ARGS_STR ? r->v.s : r->text;
    Overrides file = {0};
    if (args_yaml_file_overrides(path, &file) != 0) {
        overrides_free(&file);
        return yolo_fail("cfg=%s", r->text);
    }
    int kept = 0;
    for (int i = 0; i < file.n; i++)
        if (strcmp(file.items[i].key, "cfg") != 0) file.items[kept++] = file.items[i];
    file.n = kept;
    overrides_free(ov);
    *ov = file;
    return 0;
}

// word is shorter than ARGS_TEXT_MAX (take_word checks).
static int take_key_value(char *word, const Args *defaults, Overrides *ov) {
    char token[ARGS_TEXT_MAX];
    memcpy(token, word, strlen(word) + 1);
    char *eq = strchr(word, '=');
    *eq = '\0';
    char *key = args_trim(word), *value = args_trim(eq + 1);
    if (!*value) {
        // parse_key_value_pair's assertion, reported through the key check of the whole word.
        char line[3 * ARGS_TEXT_MAX];
        not_valid(token, defaults, line, sizeof line);
        return yolo_fail("missing '%s' value: %s", key, line);
    }
    RawValue r;
    if (args_smart_value(value, &r) != 0) return yolo_fail("'%.60s'", key);
    if (!strcmp(key, "cfg")) return take_cfg(&r, ov);
    return overrides_push(ov, key, &r, "") ? 0 : -1;
}

static bool default_is_bool(const Args *defaults, int k) {
    ArgValue v;
    args_field_value(defaults, k, &v);
    return v.kind == ARGS_BOOL;
}

// One word, in entrypoint()'s order: key=value, task, mode, special word, bare bool key, bare
// key (error), anything else (the key check, which also takes a deprecated word). Sets *stop
// when a special word ends the parse.
static int take_word(char *word, const Args *defaults, Overrides *ov, ArgsCommand *cmd, bool *stop) {
    char *w = word;
    if (!strncmp(w, "--", 2)) {
        // --help and --version are aliases, not mistakes: no warning for them.
        int action = special_action(w);
        if (action >= 0) {
            cmd->action = (ArgsAction)action;
            *stop = true;
            return 0;
        }
        warn(cmd, "argument '%s' does not require leading dashes '--', updating to '%s'.", w, w + 2);
        w += 2;
    }
    size_t len = strlen(w);
    if (len && w[len - 1] == ',') {
        warn(cmd, "argument '%s' does not require trailing comma ',', updating to '%.*s'.", w, (int)len - 1, w);
        w[len - 1] = '\0';
    }
    if (strlen(w) >= ARGS_TEXT_MAX) return yolo_fail("the argument '%.60s...' is longer than %d characters", w, ARGS_TEXT_MAX - 1);
    if (strchr(w, '=')) return take_key_value(w, defaults, ov);
    if (args_is_one_of(w, TASKS)) return push_text(ov, "task", w);
    if (args_is_one_of(w, MODES)) return push_text(ov, "mode", w);
    if (args_is_one_of(w, OTHER_TASKS))
        return yolo_fail("'%s' is an Ultralytics task that this program does not have. Valid tasks are detect, segment, classify.", w);
    if (args_is_one_of(w, OTHER_MODES))
        return yolo_fail("'%s' is an Ultralytics mode that this program does not have. Valid modes are train, val, predict, info.", w);
    int action = special_action(w);
    if (action >= 0) {
        cmd->action = (ArgsAction)action;
        *stop = true;
        return 0;
    }
    int k = args_key_index(w);
    if (k >= 0 && default_is_bool(defaults, k)) {
        RawValue r = {.v = {.kind = ARGS_BOOL, .b = true}, .type = "bool", .text = "True"};
        return overrides_push(ov, w, &r, "") ? 0 : -1;
    }
    if (k >= 0) {
        char example[ARGS_TEXT_MAX];
        args_example(defaults, k, example, sizeof example);
        return yolo_fail("'%s' is a valid YOLO argument but is missing an '=' sign to set its value, i.e. try '%s=%s'", w, w, example);
    }
    Overrides one = {0};
    RawValue empty = {.v = {.kind = ARGS_STR}, .type = "str"};
    int rc = overrides_push(&one, w, &empty, "") ? args_align(&one, defaults, cmd) : -1;
    overrides_free(&one);
    return rc;
}

// ---- After the words -------------------------------------------------------------------------

static void file_stem(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int n = (int)(dot && dot != base ? (size_t)(dot - base) : strlen(base));
    snprintf(out, cap, "%.*s", n, base);
}

static int fill_defaults(Args *a, ArgsCommand *cmd) {
    if (!args_given(a, "mode"))
        warn(cmd, "'mode' argument is missing. Valid modes are train, val, predict, info. Using default 'mode=%s'.", a->mode);
    bool info = !strcmp(a->mode, "info"), uses_data = !strcmp(a->mode, "train") || !strcmp(a->mode, "val");
    // val of a checkpoint defaults to the dataset it was trained on (cli/val_cmd.c), as
    // Ultralytics' Model.val() does with the overrides a checkpoint carries.
    size_t model_len = strlen(a->model);
    if (!strcmp(a->mode, "val") && model_len >= 5 && !strcmp(a->model + model_len - 5, ".ckpt")) uses_data = false;
    if (a->nc.kind != ARGS_NONE && !info)
        return yolo_fail("'nc=%lld' is an argument of 'yolo TASK info' only; for %s the dataset's names set the classes", a->nc.i, a->mode);
    // A resumed run takes its model and data from the checkpoint: nothing is filled in.
    bool resuming = a->resume.kind != ARGS_BOOL || a->resume.b;
    int t = 0;
    while (strcmp(TASKS[t], a->task) != 0) t++; // task is one of TASKS: args_assign checked it
    if (!a->model[0] && !resuming) {
        snprintf(a->model, sizeof a->model, "%s", TASK_MODEL[t]);
        if (!args_given(a, "task")) warn(cmd, "'model' argument is missing. Using default 'model=%s'.", a->model);
    }
    if (!a->data[0] && !resuming && uses_data) {
        snprintf(a->data, sizeof a->data, "%s", TASK_DATA[t]);
        warn(cmd, "'data' argument is missing. Using default 'data=%s'.", a->data);
    }
    if (!strcmp(a->task, "classify") && !args_given(a, "imgsz")) a->imgsz = 224;
    if (!strcmp(a->name, "model")) {
        file_stem(a->model, a->name, sizeof a->name);
        warn(cmd, "'name=model' automatically updated to 'name=%s'.", a->name);
    }
    return 0;
}

// The words in order (owned, freed here); a special word stops the parse.
static int parse_words(Args *a, Words *words, ArgsCommand *cmd) {
    Overrides ov = {0};
    bool stop = false;
    int rc = 0;
    for (int i = 0; rc == 0 && !stop && i < words->n; i++) rc = take_word(words->items[i], a, &ov, cmd, &stop);
    if (rc == 0 && !stop) rc = args_align(&ov, a, cmd);
    if (rc == 0 && !stop) rc = args_apply(a, &ov);
    if (rc == 0 && !stop) rc = fill_defaults(a, cmd);
    words_free(words);
    overrides_free(&ov);
    return rc;
}

int args_parse(Args *a, int argc, char **argv, ArgsCommand *cmd) {
    memset(cmd, 0, sizeof *cmd);
    TRY(args_defaults(a));
    if (argc == 0) {
        cmd->action = ARGS_HELP;
        return 0;
    }
    Words words = {0};
    if (merge_equals(argc, argv, &words) != 0) {
        words_free(&words);
        return -1;
    }
    return parse_words(a, &words, cmd);
}

int args_merge_words(int argc, char *const *argv, char ***words, int *n) {
    Words w = {0};
    if (merge_equals(argc, argv, &w) != 0) {
        words_free(&w);
        return -1;
    }
    *words = w.items;
    *n = w.n;
    return 0;
}

void args_words_free(char **words, int n) {
    Words w = {.items = words, .n = n, .cap = n};
    words_free(&w);
}

int args_parse_words(Args *a, int n, char *const *words, ArgsCommand *cmd) {
    memset(cmd, 0, sizeof *cmd);
    TRY(args_defaults(a));
    if (n == 0) {
        cmd->action = ARGS_HELP;
        return 0;
    }
    Words w = {0};
    for (int i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        char *copy = malloc(len + 1); // take_word edits its word in place
        if (copy) memcpy(copy, words[i], len + 1);
        if (words_push(&w, copy) != 0) {
            words_free(&w);
            return -1;
        }
    }
    return parse_words(a, &w, cmd);
}
