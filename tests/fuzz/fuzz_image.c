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
#include "png_fixup.h"

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
    // Past the CRC checks to the chunk parsers; the unit test fuzz_png_decode_never_crashes keeps
    // CRC failures covered.
    png_fix_crcs(b, size);
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
