// Writing safetensors files and replacing files atomically with a kept previous generation.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/safetensors_write.h"
#include "scratch.h"
#include "test.h"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    *n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

TEST(io_safetensors_write_read_round_trip) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1.5f, 7.25f};
    StOut t[2] = {{.name = "z.weight", .data = a, .ndim = 2, .shape = {2, 3}}, {.name = "a.bias", .data = b, .ndim = 1, .shape = {2}}};
    const char *meta[] = {"format", "yolo-ckpt", "task", "detect"};
    unsigned char *buf;
    size_t size;
    EXPECT_OK(safetensors_serialize(t, 2, meta, 2, &buf, &size));
    EXPECT(size % 8 == 0); // 8-byte length, header padded to 8, fp32 data: 6*4 + 2*4 bytes
    SafeTensors st;
    EXPECT_OK(safetensors_parse(buf, size, "mem", &st)); // takes the buffer
    const StTensor *z = safetensors_find(&st, "z.weight"), *bias = safetensors_find(&st, "a.bias");
    EXPECT(z && z->ndim == 2 && z->shape[0] == 2 && z->shape[1] == 3 && bias && bias->numel == 2);
    float back[6];
    if (z) {
        safetensors_copy_f32(z, back);
        EXPECT(memcmp(back, a, sizeof a) == 0);
    }
    EXPECT(!strcmp(safetensors_metadata(&st, "task"), "detect"));
    safetensors_free(&st);
    // The same tensors in another order give the same bytes and the same data hash.
    StOut swapped[2] = {t[1], t[0]};
    unsigned char *buf2;
    size_t size2;
    EXPECT_OK(safetensors_serialize(swapped, 2, meta, 2, &buf2, &size2));
    EXPECT(size2 == size);
    EXPECT(safetensors_data_hash(t, 2) == safetensors_data_hash(swapped, 2));
    free(buf2);
    StOut dup[2] = {t[0], t[0]};
    EXPECT_FAILS_WITH(safetensors_serialize(dup, 2, NULL, 0, &buf2, &size2), "two tensors are named z.weight");
}

TEST(io_atomic_write_keeps_the_previous_generation) {
    char dir[256], path[512], prev[512];
    if (!scratch_make(dir, sizeof dir, "io")) return;
    snprintf(path, sizeof path, "%s/last.ckpt", dir);
    snprintf(prev, sizeof prev, "%s/last.prev.ckpt", dir);
    EXPECT_OK(atomic_write(path, "one", 3, prev));
    EXPECT(access(prev, F_OK) != 0); // nothing to keep the first time
    EXPECT_OK(atomic_write(path, "two!", 4, prev));
    size_t n;
    char *now = slurp(path, &n), *before = slurp(prev, &n);
    EXPECT(now && !memcmp(now, "two!", 4) && before && !memcmp(before, "one", 3));
    free(now);
    free(before);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    EXPECT(access(tmp, F_OK) != 0);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.ckpt", dir);
    EXPECT_FAILS_WITH(atomic_write(missing, "x", 1, NULL), "cannot write");
    scratch_remove(dir);
}
