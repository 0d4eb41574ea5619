// What the files of the C API (include/yolo/yolo.h) share: the arguments object and how its
// words become the command's typed Args. Private to src/api.
#ifndef YOLO_API_API_H
#define YOLO_API_API_H

#include "cli/args.h"
#include "yolo/yolo.h"

// The words of a command line, gathered by yolo_args_set and yolo_args_parse. Every prefix of
// them parses: a call whose words are rejected leaves none of them here.
struct yolo_args {
    char **words;
    int n, cap;
    char warnings[ARGS_WARNINGS_MAX]; // of the last set or parse
};

// The words parsed, with mode=MODE after them when mode is not NULL (the run functions choose
// their mode as Ultralytics' model.train() does, whatever the words say). A malloc'ed Args, or
// NULL with the message set; cmd gets the action and the warnings either way.
Args *api_resolve(const yolo_args *y, const char *mode, ArgsCommand *cmd);

// For the run function yolo_<mode>: clears the error, resolves the words with mode= after them and
// prints their warnings. NULL with *rc set when they do not parse or hold a special word, which
// only yolo_run runs.
Args *api_run_args(const yolo_args *y, const char *mode, int *rc);

// rc, with the message cleared unless rc is a failure (YOLO_FAILED, YOLO_USAGE): an engine step
// that failed and was recovered from (a damaged last.ckpt replaced by last.prev.ckpt) must not
// leave its message behind a success.
int api_done(int rc);

#endif
