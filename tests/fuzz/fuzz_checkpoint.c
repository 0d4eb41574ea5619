// libFuzzer target for checkpoint_open (issue 6): the bytes of a .ckpt, with their data checksum
// rewritten to match (checkpoint_fixup.h) so that mutations get past it, written to a scratch file
// in /dev/shm and opened as `resume` opens last.ckpt; a checkpoint that opens then has its stored
// model YAML parsed. Aborts when an input opens without a task or a state object, or fails with a
// message that does not name the file (see README.md for building and running it).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/checkpoint.h"
#include "fuzz/checkpoint_fixup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_scratch(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/dev/shm/fuzz-ckpt-%d.ckpt", (int)getpid());
        atexit(remove_scratch);
    }
    unsigned char *buf = malloc(size ? size : 1); // exact size: reads past the end are ASan errors
    if (!buf) return 0;
    memcpy(buf, data, size);
    checkpoint_fix_checksum(buf, size);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, size, f) != size) abort();
    fclose(f);
    free(buf);
    Checkpoint ck;
    yolo_error_clear();
    if (checkpoint_open(path, &ck) != 0) {
        if (!strstr(yolo_error(), path)) {
            fprintf(stderr, "message without the file name: %s\n", yolo_error());
            abort();
        }
        yolo_error_clear();
        return 0;
    }
    if (!ck.task[0] || !cJSON_IsObject(ck.state)) abort();
    ModelDef def;
    if (checkpoint_model_def(&ck, &def) == 0) model_def_free(&def);
    else if (!yolo_error()[0]) abort();
    yolo_error_clear();
    checkpoint_close(&ck);
    return 0;
}
