// yolo_args: a command line built by calls. It keeps the words rather than typed values so that
// every rule of the grammar holds as on the command line (a later value of a key wins, cfg=FILE
// replaces what came before it, task and mode decide the filled-in defaults), by parsing all the
// words again with args_parse_words at each call; a few dozen words parse in microseconds.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/status.h"

yolo_args *yolo_args_create(void) {
    yolo_error_clear();
    yolo_args *y = calloc(1, sizeof *y);
    if (!y) yolo_fail("out of memory creating yolo_args");
    return y;
}

void yolo_args_destroy(yolo_args *y) {
    if (!y) return;
    args_words_free(y->words, y->n);
    free(y);
}

Args *api_resolve(const yolo_args *y, const char *mode, ArgsCommand *cmd) {
    memset(cmd, 0, sizeof *cmd);
    char mode_word[32];
    char **words = malloc(sizeof *words * (size_t)(y->n + 1));
    Args *a = malloc(sizeof *a); // Args is large (fixed-size lists): not on the stack
    if (!words || !a) {
        free(words);
        free(a);
        yolo_fail("out of memory reading the arguments");
        return NULL;
    }
    if (y->n) memcpy(words, y->words, sizeof *words * (size_t)y->n);
    int n = y->n;
    if (mode) {
        snprintf(mode_word, sizeof mode_word, "mode=%s", mode);
        words[n++] = mode_word;
    }
    int rc = args_parse_words(a, n, words, cmd);
    free(words);
    if (rc != 0) {
        free(a);
        return NULL;
    }
    return a;
}

// Appends the words (taking them) if all the words then parse; otherwise frees them. Returns the
// exit status.
static int add_words(yolo_args *y, char **words, int n) {
    int rc = YOLO_OK;
    if (y->n + n > y->cap) {
        int cap = y->cap ? y->cap : 16;
        while (cap < y->n + n) cap *= 2;
        char **grown = realloc(y->words, sizeof *grown * (size_t)cap);
        if (grown) {
            y->words = grown;
            y->cap = cap;
        } else {
            rc = YOLO_FAILED;
            yolo_fail("out of memory adding arguments");
        }
    }
    if (rc == YOLO_OK) {
        for (int i = 0; i < n; i++) y->words[y->n + i] = words[i];
        y->n += n;
        ArgsCommand cmd;
        Args *a = api_resolve(y, NULL, &cmd);
        memcpy(y->warnings, cmd.warnings, sizeof y->warnings);
        y->n -= n;
        if (a) y->n += n; // kept
        else rc = YOLO_USAGE;
        free(a);
    }
    if (rc != YOLO_OK) args_words_free(words, n);
    else free(words); // the array only: the strings now belong to y
    return api_done(rc);
}

int yolo_args_set(yolo_args *y, const char *key, const char *value) {
    yolo_error_clear();
    if (!y || !key || !value) {
        yolo_fail("yolo_args_set: %s is NULL; give the arguments, a key and its value as text (\"True\", \"3\")",
                  !y ? "args" : !key ? "key" : "value");
        return YOLO_USAGE;
    }
    if (!key[0] || strchr(key, '=')) {
        yolo_fail("yolo_args_set: '%s' is not a key; give the key and the value apart: yolo_args_set(args, \"epochs\", "
                  "\"3\")", key);
        return YOLO_USAGE;
    }
    size_t lk = strlen(key), lv = strlen(value);
    char **words = malloc(sizeof *words);
    char *word = malloc(lk + 1 + lv + 1);
    if (!words || !word) {
        free(words);
        free(word);
        yolo_fail("out of memory adding arguments");
        return YOLO_FAILED;
    }
    // One word, as the shell would pass key=value: no '=' merging with the words around it.
    memcpy(word, key, lk);
    word[lk] = '=';
    memcpy(word + lk + 1, value, lv + 1);
    words[0] = word;
    return add_words(y, words, 1);
}

int yolo_args_parse(yolo_args *y, int argc, char *const *argv) {
    yolo_error_clear();
    if (!y || argc < 0 || (argc > 0 && !argv)) {
        yolo_fail("yolo_args_parse: give the arguments and argc words (argv[1..] of main)");
        return YOLO_USAGE;
    }
    for (int i = 0; i < argc; i++)
        if (!argv[i]) {
            yolo_fail("yolo_args_parse: word %d of %d is NULL", i, argc);
            return YOLO_USAGE;
        }
    char **words = NULL;
    int n = 0;
    if (argc > 0 && args_merge_words(argc, argv, &words, &n) != 0) return YOLO_FAILED;
    return add_words(y, words, n);
}

int yolo_args_get(const yolo_args *y, const char *key, char *out, size_t cap) {
    yolo_error_clear();
    if (!y || !key || !out) {
        yolo_fail("yolo_args_get: give the arguments, a key and a buffer");
        return YOLO_USAGE;
    }
    ArgsCommand cmd;
    Args *a = api_resolve(y, NULL, &cmd);
    if (!a) return YOLO_USAGE;
    char text[4 * ARGS_TEXT_MAX]; // a list of ARGS_LIST_MAX ints is the longest value
    int rc = args_format(a, key, text, sizeof text) == 0 ? YOLO_OK : YOLO_USAGE;
    free(a);
    if (rc == YOLO_OK && (size_t)snprintf(out, cap, "%s", text) >= cap) {
        yolo_fail("yolo_args_get: %s=%.40s... needs %zu bytes, the buffer has %zu", key, text, strlen(text) + 1, cap);
        rc = YOLO_FAILED;
    }
    return rc;
}

const char *yolo_args_warnings(const yolo_args *y) { return y ? y->warnings : ""; }
