// Image memory, resizing, and which file names are images; decoding and encoding live in
// image_io.c.
#include "data/image.h"

#include <math.h>
#include <stdlib.h>

#include "core/status.h"
#include "io/path.h"

bool image_suffix_listed(const char *path) {
    static const char *const IMG_FORMATS[] = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"};
    return PATH_SUFFIX_IN(path, IMG_FORMATS);
}

int image_alloc(Image *img, int w, int h) {
    img->w = img->h = 0;
    img->rgb = NULL;
    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return yolo_fail("image size %dx%d is outside 1..%d", w, h, IMAGE_MAX_SIDE);
    img->rgb = malloc((size_t)w * (size_t)h * 3);
    mallocCheck(img->rgb);
    img->w = w;
    img->h = h;
    return 0;
}

void image_free(Image *img) {
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

// Source coordinate and weight of destination index i for a scale src/dst, with pixel centres at
// +0.5 and edge clamping, as OpenCV's INTER_LINEAR.
typedef struct {
    int i0, i1;
    float w1;
} Tap;

static void make_taps(Tap *taps, int dst, int src) {
    double scale = (double)src / (double)dst;
    for (int i = 0; i < dst; i++) {
        double f = (i + 0.5) * scale - 0.5;
        int i0 = (int)floor(f);
        double frac = f - i0;
        if (i0 < 0) {
            i0 = 0;
            frac = 0.0;
        }
        if (i0 >= src - 1) {
            i0 = src - 1;
            frac = 0.0;
        }
        taps[i] = (Tap){.i0 = i0, .i1 = i0 + 1 < src ? i0 + 1 : i0, .w1 = (float)frac};
    }
}

int image_resize_linear(const Image *src, int w, int h, Image *dst) {
    TRY(image_alloc(dst, w, h));
    Tap *xs = malloc(sizeof *xs * (size_t)w), *ys = malloc(sizeof *ys * (size_t)h);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        image_free(dst);
        return yolo_fail("out of memory resizing an image to %dx%d", w, h);
    }
    make_taps(xs, w, src->w);
    make_taps(ys, h, src->h);
    for (int y = 0; y < h; y++) {
        const uint8_t *r0 = src->rgb + (size_t)ys[y].i0 * (size_t)src->w * 3;
        const uint8_t *r1 = src->rgb + (size_t)ys[y].i1 * (size_t)src->w * 3;
        float wy = ys[y].w1;
        uint8_t *out = dst->rgb + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            int a = xs[x].i0 * 3, b = xs[x].i1 * 3;
            float wx = xs[x].w1;
            for (int c = 0; c < 3; c++) {
                float top = r0[a + c] + wx * (float)(r0[b + c] - r0[a + c]);
                float bottom = r1[a + c] + wx * (float)(r1[b + c] - r1[a + c]);
                float v = top + wy * (bottom - top);
                out[x * 3 + c] = (uint8_t)(v + 0.5f); // v is within [0, 255]
            }
        }
    }
    free(xs);
    free(ys);
    return 0;
}
