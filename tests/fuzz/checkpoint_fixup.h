// For fuzzing checkpoint_open: rewrites a mutated checkpoint's stored data checksum
// (__metadata__.checksum_xxh3) to the checksum of the data the header now describes, so that a
// mutation of the header reaches the metadata, state JSON and model checks instead of stopping
// at the checksum (the PNG target rewrites chunk CRCs for the same reason). Shared by the
// libFuzzer target and the deterministic fuzz in tests/unit.
#ifndef YOLO_TESTS_FUZZ_CHECKPOINT_FIXUP_H
#define YOLO_TESTS_FUZZ_CHECKPOINT_FIXUP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/safetensors.h"
#include "io/safetensors_write.h"

// True when the checksum was found and rewritten in place (same length: the header stays valid).
static inline bool checkpoint_fix_checksum(unsigned char *buf, size_t size) {
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return false;
    memcpy(copy, buf, size);
    SafeTensors st;
    if (safetensors_parse(copy, size, "fuzz", &st) != 0) { // takes copy
        yolo_error_clear();
        return false;
    }
    StOut *views = calloc((size_t)st.n_tensors + 1, sizeof *views);
    bool ok = views != NULL;
    for (int i = 0; ok && i < st.n_tensors; i++) {
        const StTensor *t = &st.tensors[i];
        ok = t->dtype == ST_F32;
        views[i] = (StOut){.name = t->name, .data = t->data, .ndim = t->ndim};
        memcpy(views[i].shape, t->shape, sizeof t->shape);
    }
    char hash[17];
    if (ok) snprintf(hash, sizeof hash, "%016" PRIx64, safetensors_data_hash(views, st.n_tensors));
    free(views);
    safetensors_free(&st);
    if (!ok || size < 8) return false;
    static const char key[] = "\"checksum_xxh3\":\"";
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | buf[i];
    size_t end = header < size - 8 ? 8 + (size_t)header : size;
    for (size_t p = 8; p + sizeof key - 1 + 16 < end; p++) {
        if (memcmp(buf + p, key, sizeof key - 1) != 0) continue;
        memcpy(buf + p + sizeof key - 1, hash, 16);
        return true;
    }
    return false;
}

#endif
