#include "cli/checkpoint_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "core/status.h"
#include "data/dataset.h"
#include "engine/checkpoint.h"

static double number(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : -1.0;
}

// The run's arguments that differ from default.yaml, as key=value words.
static void print_args(const cJSON *state) {
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(state, "train_args");
    // Args holds fixed-size lists: two of them are too large for the stack.
    Args *defaults = malloc(sizeof *defaults), *run = malloc(sizeof *run);
    if (!defaults || !run || !cJSON_IsString(text) || args_defaults(defaults) != 0 ||
        args_from_yaml(run, text->valuestring, "checkpoint") != 0) {
        printf("  arguments:  unreadable (%s)\n", yolo_error());
        yolo_error_clear();
    } else {
        printf("  arguments:  ");
        int shown = 0;
        for (int i = 0; i < args_key_count(); i++) {
            char mine[ARGS_TEXT_MAX], dflt[ARGS_TEXT_MAX];
            const char *key = args_key_name(i);
            if (args_format(run, key, mine, sizeof mine) == 0 && args_format(defaults, key, dflt, sizeof dflt) == 0 &&
                strcmp(mine, dflt) != 0)
                printf("%s%s=%s", shown++ ? " " : "", key, mine);
        }
        printf("%s\n", shown ? "" : "(all defaults)");
    }
    free(defaults);
    free(run);
}

// The dataset the run was trained on, and whether its training split is still the same (what
// resume checks): the stored YAML scanned again and its fingerprint compared.
static void print_dataset(const Checkpoint *ck) {
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(ck->state, "dataset");
    const cJSON *yaml = cJSON_GetObjectItemCaseSensitive(ds, "yaml_realpath");
    if (!cJSON_IsString(yaml)) yaml = cJSON_GetObjectItemCaseSensitive(ds, "yaml_path");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(ds, "train_fingerprint");
    const char *where = cJSON_IsString(yaml) ? yaml->valuestring : "";
    const char *stored = cJSON_IsString(fp) ? fp->valuestring : "none";
    if (!where[0]) {
        printf("  dataset:    not recorded (fingerprint %s)\n", stored);
        return;
    }
    if (access(where, F_OK) != 0) {
        printf("  dataset:    %s, fingerprint %s: GONE (if it moved, resume with data= naming its new YAML)\n", where,
               stored);
        return;
    }
    DatasetConfig cfg;
    DatasetSplit split = {0};
    // The scan prints its summary line ("train: N images ..."); the verdict follows it.
    fflush(stdout);
    bool classify = !strcmp(ck->task, "classify");
    if (dataset_config_load(where, NULL, classify, &cfg) != 0 || dataset_scan(&cfg, SPLIT_TRAIN, &split) != 0) {
        printf("  dataset:    %s, fingerprint %s: cannot be checked here (%s)\n", where, stored, yolo_error());
        yolo_error_clear();
        dataset_config_free(&cfg);
        return;
    }
    char now[32];
    snprintf(now, sizeof now, "%016llx", (unsigned long long)split.fingerprint);
    bool same = !strcmp(now, stored);
    if (same) printf("  dataset:    %s, fingerprint %s: the same training images and labels\n", where, stored);
    else printf("  dataset:    %s, fingerprint %s: CHANGED (now %s); resume refuses it\n", where, stored, now);
    dataset_split_free(&split);
    dataset_config_free(&cfg);
}

int checkpoint_command(const char *path) {
    Checkpoint ck;
    if (checkpoint_open(path, &ck) != 0) return 1;
    // checkpoint_open falls back to last.prev.ckpt (with a warning) when path is damaged.
    bool whole = !strcmp(ck.path, path);
    const cJSON *s = ck.state;
    printf("%s\n", ck.path);
    printf("  integrity:  %s\n", whole ? "whole (format, version and XXH3 data checksum verified)"
                                       : "DAMAGED; shown instead: its previous generation above");
    printf("  task:       %s\n", ck.task);
    int batch = (int)number(s, "batch");
    printf("  position:   %d epochs done", (int)number(s, "epoch"));
    if (batch > 0) printf(", %d batches into the next", batch);
    bool finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "finished"));
    printf("%s; %.0f optimizer steps, %.0f EMA updates\n", finished ? " (finished)" : "", number(s, "optimizer_steps"),
           number(s, "ema_updates"));
    printf("  best:       fitness %.6g at epoch %d\n", number(s, "best_fitness"), (int)number(s, "best_epoch") + 1);
    printf("  trained:    %.1f s\n", number(s, "elapsed_seconds"));
    print_args(s);
    print_dataset(&ck);
    printf("  size:       %.2f MiB, %d tensors\n", (double)ck.st.file_size / (1024.0 * 1024.0), ck.st.n_tensors);
    checkpoint_close(&ck);
    return whole ? 0 : 1;
}
