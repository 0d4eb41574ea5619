// Deterministic mutation fuzz of checkpoint_open (issue 6, must-show 6): a small, valid checkpoint
// gets seeded mutations, mostly in its JSON header (where a mutation can still parse), and half
// of them get their data checksum rewritten to match (tests/fuzz/checkpoint_fixup.h) so that they
// reach the metadata, the state JSON and the stored model YAML. Every input must either open
// with a task and a state object, or fail with a message that names the file; under the
// sanitizers this also checks memory safety. tests/fuzz/fuzz_checkpoint.c is the coverage-guided
// version; the regression cases below are inputs it or this test once tripped over.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "engine/checkpoint.h"
#include "fuzz/checkpoint_fixup.h"
#include "io/safetensors_write.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

// The seed: three tensors as a run would name them and a state with the model YAML in it.
static unsigned char *seed_checkpoint(size_t *size) {
    static const float w[6] = {0.5f, -1, 2, 0.25f, 3, -4}, m[6] = {0}, v[6] = {1, 1, 1, 1, 1, 1};
    StOut t[3] = {{.name = "model.0.conv.weight", .data = w, .ndim = 4, .shape = {2, 3, 1, 1}},
                  {.name = "ema.model.0.conv.weight", .data = w, .ndim = 4, .shape = {2, 3, 1, 1}},
                  {.name = "optim.exp_avg.model.0.conv.weight", .data = m, .ndim = 4, .shape = {2, 3, 1, 1}}};
    (void)v;
    static const char *state = "{\"epoch\":1,\"batch\":0,\"batch_size\":4,\"batches_per_epoch\":1,\"finished\":false,"
                               "\"optimizer\":{\"type\":\"AdamW\",\"lr0\":0.001,\"groups\":[]},\"train_args\":\"epochs: 3\\n\","
                               "\"model\":{\"yaml\":\"nc: 5\\nscales:\\n  n: [0.33, 0.25, 1024]\\nbackbone:\\n"
                               "  - [-1, 1, Conv, [64, 3, 2]]\\nhead:\\n  - [[0], 1, Detect, [nc]]\\n\",\"scale\":\"n\","
                               "\"nc\":5}}";
    char checksum[32];
    snprintf(checksum, sizeof checksum, "%016" PRIx64, safetensors_data_hash(t, 3));
    const char *meta[] = {"format", CHECKPOINT_FORMAT, "format_version", CHECKPOINT_FORMAT_VERSION, "task", "detect",
                          "checksum_xxh3", checksum, "state", state};
    unsigned char *buf = NULL;
    if (safetensors_serialize(t, 3, meta, 5, &buf, size) != 0) return NULL;
    return buf;
}

static uint32_t draw(RngCursor *c) { return rng_u32(c->seed, c->stream, c->next++); }

// 1..4 mutations of buf[0..len) (capacity cap), 7 in 8 of them inside the 8-byte length and the
// JSON header; changed bytes come half the time from JSON's own characters.
static size_t mutate(unsigned char *buf, size_t len, size_t cap, size_t header_end, RngCursor *c) {
    static const char json[] = "0123456789[]{},:\"-.eE \\";
    int rounds = 1 + (int)(draw(c) % 4);
    for (int r = 0; r < rounds && len > 0; r++) {
        size_t span = draw(c) % 8 ? (header_end < len ? header_end : len) : len;
        size_t pos = draw(c) % span;
        unsigned char byte = draw(c) % 2 ? (unsigned char)json[draw(c) % (sizeof json - 1)] : (unsigned char)draw(c);
        switch (draw(c) % 6) {
        case 0: buf[pos] ^= (unsigned char)(1u << draw(c) % 8); break;
        case 1: buf[pos] = byte; break;
        case 2: len = pos + draw(c) % (len - pos + 1); break; // truncate
        case 3: { // insert up to 8 bytes
            size_t k = 1 + draw(c) % 8;
            if (len + k > cap) break;
            memmove(buf + pos + k, buf + pos, len - pos);
            for (size_t i = 0; i < k; i++) buf[pos + i] = byte;
            len += k;
            break;
        }
        case 4: { // delete up to 16 bytes
            size_t k = 1 + draw(c) % 16;
            if (pos + k > len) k = len - pos;
            memmove(buf + pos, buf + pos + k, len - pos - k);
            len -= k;
            break;
        }
        default: { // the length prefix: off by a little, or a boundary value
            static const uint64_t edge[] = {0, 1, 7, 8, 0x7fffffffffffffffull, 0xffffffffffffffffull};
            uint64_t n = 0;
            for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
            n = draw(c) % 2 ? n + (uint64_t)(int)(draw(c) % 17) - 8 : edge[draw(c) % 6];
            for (int i = 0; i < 8 && i < (int)len; i++) buf[i] = (unsigned char)(n >> (8 * i));
            break;
        }
        }
    }
    return len;
}

// Opens path as resume would and checks the outcome; counts what was reached.
static void open_and_check(const char *path, int *opened, int *models) {
    Checkpoint ck;
    yolo_error_clear();
    if (checkpoint_open(path, &ck) != 0) {
        if (!strstr(yolo_error(), path))
            test_fail(__FILE__, __LINE__, "the message does not name the file: %s", yolo_error());
        yolo_error_clear();
        return;
    }
    (*opened)++;
    EXPECT(ck.task[0] != '\0' && cJSON_IsObject(ck.state));
    ModelDef def;
    if (checkpoint_model_def(&ck, &def) == 0) {
        (*models)++;
        model_def_free(&def);
    } else {
        EXPECT(yolo_error()[0] != '\0');
    }
    yolo_error_clear();
    checkpoint_close(&ck);
}

TEST(fuzz_checkpoint_open_never_crashes) {
    // In memory where there is a tmpfs: rewriting one file thousands of times on ext4 waits for
    // writeback (truncating a file flushes it), which takes seconds on a busy disk.
    char dir[256] = "/dev/shm/yolo-test-fuzz-ckpt-XXXXXX", path[512];
    if (!mkdtemp(dir) && !scratch_make(dir, sizeof dir, "fuzz-ckpt")) return;
    snprintf(path, sizeof path, "%s/last.ckpt", dir);
    size_t size = 0;
    unsigned char *seed = seed_checkpoint(&size);
    EXPECT(seed != NULL);
    if (!seed) return;
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | seed[i];
    size_t cap = size + 64;
    unsigned char *buf = malloc(cap);
    int opened = 0, models = 0, fixed = 0;
    // The seed itself opens and its model parses: otherwise the mutations test nothing deep.
    EXPECT(test_file_write(path, seed, size));
    open_and_check(path, &opened, &models);
    EXPECT(opened == 1 && models == 1);
    RngCursor c = rng_cursor(6, 0);
    enum { ITERATIONS = 10000 };
    for (int it = 0; it < ITERATIONS && buf; it++) {
        memcpy(buf, seed, size);
        size_t len = mutate(buf, size, cap, 8 + (size_t)header, &c);
        if (it % 2) fixed += checkpoint_fix_checksum(buf, len);
        if (!test_file_write(path, buf, len)) {
            test_fail(__FILE__, __LINE__, "cannot write %s", path);
            break;
        }
        open_and_check(path, &opened, &models);
    }
    printf("    %d mutated checkpoints (%d with the checksum rewritten): %d opened, %d with a model that parses\n",
           ITERATIONS, fixed, opened - 1, models - 1);
    EXPECT(opened > 1 + ITERATIONS / 100); // the fix-up lets a share of the mutations through
    free(buf);
    free(seed);
    scratch_remove(dir);
}

// The seeds and every input the coverage-guided fuzzer crashed on (tests/fuzz/corpus/checkpoint/,
// crash-*.ckpt: see tests/fuzz/README.md), each opened as it was and with its checksum rewritten.
TEST(fuzz_checkpoint_corpus_and_past_crashes_open_cleanly) {
    static const char *CORPUS = "tests/fuzz/corpus/checkpoint";
    char dir[256] = "/dev/shm/yolo-test-fuzz-corpus-XXXXXX", path[512], from[1024];
    if (!mkdtemp(dir) && !scratch_make(dir, sizeof dir, "fuzz-corpus")) return;
    snprintf(path, sizeof path, "%s/last.ckpt", dir);
    DIR *d = opendir(CORPUS);
    EXPECT(d != NULL);
    int files = 0, opened = 0, models = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(from, sizeof from, "%s/%s", CORPUS, e->d_name);
        FILE *f = fopen(from, "rb");
        unsigned char buf[1 << 16];
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        files++;
        for (int fix = 0; fix < 2; fix++) {
            if (fix) checkpoint_fix_checksum(buf, len);
            EXPECT(test_file_write(path, buf, len));
            open_and_check(path, &opened, &models);
        }
    }
    if (d) closedir(d);
    EXPECT(files >= 2);
    scratch_remove(dir);
}
