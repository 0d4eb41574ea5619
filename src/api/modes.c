// The run functions of the C API: the words resolved into Args, their warnings printed as the
// command prints them, and the same command functions that `yolo` runs (src/cli/*_cmd.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/checkpoint_cmd.h"
#include "cli/info.h"
#include "cli/predict_cmd.h"
#include "cli/special_words.h"
#include "cli/train_cmd.h"
#include "cli/val_cmd.h"
#include "core/status.h"
#include "tasks/task.h"

// The public sizes hold what any task reports; a task with more must grow them (and the API's version).
_Static_assert((int)YOLO_MAX_METRICS >= (int)TASK_MAX_METRICS, "yolo_metrics cannot hold every metric of a task");
_Static_assert((int)YOLO_TOP_K >= (int)PREDICT_TOP_K, "yolo_prediction cannot hold a classifier's top classes");

const char *yolo_version(void) { return YOLO_VERSION; }

int api_done(int rc) {
    if (rc != YOLO_FAILED && rc != YOLO_USAGE) yolo_error_clear();
    return rc;
}

Args *api_run_args(const yolo_args *y, const char *mode, int *rc) {
    yolo_error_clear();
    if (!y) {
        yolo_fail("yolo_%s: args is NULL; make them with yolo_args_create", mode);
        *rc = YOLO_USAGE;
        return NULL;
    }
    ArgsCommand cmd;
    Args *a = api_resolve(y, mode, &cmd);
    fputs(cmd.warnings, stderr);
    *rc = a ? YOLO_OK : YOLO_USAGE;
    if (a && cmd.action != ARGS_RUN) {
        yolo_fail("yolo_%s: the arguments hold a special word (help, version, cfg, copy-cfg or checks), which only "
                  "yolo_run runs; make new arguments without it", mode);
        free(a);
        a = NULL;
        *rc = YOLO_USAGE;
    }
    return a;
}

int yolo_train(const yolo_args *y, char *run_dir, size_t cap) {
    if (run_dir && cap) run_dir[0] = '\0';
    int rc;
    Args *a = api_run_args(y, "train", &rc);
    if (a) rc = train_command(a, run_dir, cap);
    free(a);
    return api_done(rc);
}

int yolo_val(const yolo_args *y, yolo_metrics *metrics) {
    if (metrics) memset(metrics, 0, sizeof *metrics);
    int rc;
    Args *a = api_run_args(y, "val", &rc);
    ValOptions *done = a ? malloc(sizeof *done) : NULL;
    if (a && !done) {
        yolo_fail("out of memory");
        rc = YOLO_FAILED;
    }
    if (done) rc = val_command(a, done);
    const TaskImpl *task = rc == YOLO_OK && done ? task_impl(done->task) : NULL;
    if (task && metrics) {
        metrics->task = task->name;
        metrics->n = task->n_metrics;
        for (int i = 0; i < metrics->n; i++) {
            metrics->names[i] = task->metric_names[i];
            metrics->values[i] = done->metrics[i];
        }
        metrics->fitness = done->fitness;
        snprintf(metrics->run_dir, sizeof metrics->run_dir, "%s", done->run_dir);
    }
    free(done);
    free(a);
    return api_done(rc);
}

int yolo_checkpoint_report(const char *path) {
    yolo_error_clear();
    if (!path) {
        yolo_fail("yolo_checkpoint_report: path is NULL; give a .ckpt file");
        return YOLO_USAGE;
    }
    return api_done(checkpoint_command(path));
}

static int run_mode(const Args *a) {
    if (!strcmp(a->mode, "train")) return train_command(a, NULL, 0);
    if (!strcmp(a->mode, "val")) return val_command(a, NULL);
    if (!strcmp(a->mode, "predict")) return predict_command(a, NULL, NULL);
    return info_main(a) == 0 ? YOLO_OK : YOLO_FAILED; // info, the remaining mode args_parse accepts
}

int yolo_run(const yolo_args *y) {
    yolo_error_clear();
    if (!y) {
        yolo_fail("yolo_run: args is NULL; make them with yolo_args_create");
        return YOLO_USAGE;
    }
    ArgsCommand cmd;
    Args *a = api_resolve(y, NULL, &cmd);
    fputs(cmd.warnings, stderr);
    if (!a) return YOLO_USAGE;
    int rc = YOLO_OK;
    switch (cmd.action) {
    case ARGS_HELP: special_print_help(stdout); break;
    case ARGS_VERSION: printf("%s\n", YOLO_VERSION); break;
    case ARGS_CFG: fputs(args_default_yaml(), stdout); break;
    case ARGS_COPY_CFG: rc = special_copy_cfg(); break;
    case ARGS_CHECKS: rc = special_checks(); break;
    case ARGS_RUN: rc = run_mode(a); break;
    }
    free(a);
    return api_done(rc);
}
