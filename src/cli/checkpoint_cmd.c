#include "cli/checkpoint_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "core/status.h"
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

int checkpoint_command(const char *path) {
    Checkpoint ck;
    if (checkpoint_open(path, &ck) != 0) {
        fprintf(stderr, "yolo: %s\n", yolo_error());
        return 1;
    }
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
    printf("  size:       %.2f MiB, %d tensors\n", (double)ck.st.file_size / (1024.0 * 1024.0), ck.st.n_tensors);
    checkpoint_close(&ck);
    return whole ? 0 : 1;
}
