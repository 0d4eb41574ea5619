// libFuzzer target for image_decode and image_read_size: no input may crash them, read out of
// bounds or leak, a decoded image must have a sane size, and the header-only size must agree
// with what decoding gives. Build and run: tests/fuzz/README.md.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/image.h"

// The CRC-32 that PNG chunks carry (ISO 3309, reflected, polynomial 0xedb88320).
static uint32_t crc32_png(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

// Rewrites the CRC of every whole chunk of a PNG: without this nearly every mutation stops at
// the CRC check and libpng's chunk parsers and zlib are never reached. (The unit test
// fuzz_png_decode_never_crashes keeps the CRC failures covered.)
static void fix_png_crcs(uint8_t *b, size_t len) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 8 || memcmp(b, sig, 8) != 0) return;
    size_t p = 8;
    while (p + 12 <= len) {
        size_t n = (size_t)b[p] << 24 | (size_t)b[p + 1] << 16 | (size_t)b[p + 2] << 8 | b[p + 3];
        if (n > len - p - 12) return;
        uint32_t crc = crc32_png(b + p + 4, 4 + n);
        for (int i = 0; i < 4; i++) b[p + 8 + n + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
        p += 12 + n;
    }
}

static char path[64];

// image_read_size reads files; each input goes through one scratch file in shared memory.
static int write_scratch(const uint8_t *b, size_t len) {
    if (!path[0]) {
        strcpy(path, "/dev/shm/fuzz-image-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) return -1;
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(b, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = malloc(size ? size : 1); // exact size: reads past the end are ASan errors
    if (!b) return 0;
    memcpy(b, data, size);
    fix_png_crcs(b, size);
    Image img;
    int decoded = image_decode(b, size, "fuzz", &img) == 0;
    if (!decoded && !strstr(yolo_error(), "fuzz: ")) {
        fprintf(stderr, "failure without the file name: %s\n", yolo_error());
        abort();
    }
    yolo_error_clear();
    if (decoded) {
        if (!img.rgb || img.w < IMAGE_MIN_SIDE || img.h < IMAGE_MIN_SIDE || img.w > IMAGE_MAX_SIDE ||
            img.h > IMAGE_MAX_SIDE)
            abort();
        // Touch every byte, so that a buffer smaller than w * h * 3 is an ASan error.
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) sum += img.rgb[i];
        (void)sum;
    }
    if (write_scratch(b, size) == 0) {
        int w = 0, h = 0;
        int sized = image_read_size(path, &w, &h) == 0;
        yolo_error_clear();
        if (decoded && (!sized || w != img.w || h != img.h)) {
            fprintf(stderr, "decode gives %dx%d, image_read_size %s %dx%d\n", img.w, img.h, sized ? "gives" : "fails",
                    w, h);
            abort();
        }
    }
    if (decoded) image_free(&img);
    free(b);
    return 0;
}
