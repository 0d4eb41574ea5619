#include "plot/png_encode.h"

#include <png.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

typedef struct {
    unsigned char *data;
    size_t size, cap;
    bool failed;
} Buffer;

static void append(png_structp png, png_bytep data, png_size_t length) {
    Buffer *b = png_get_io_ptr(png);
    if (b->failed) return;
    if (b->size + length > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->size + length) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, length);
    b->size += length;
}

static void flush(png_structp png) { (void)png; }

// The libpng part, apart so that nothing it touches lives across setjmp in the caller.
static bool encode(const unsigned char *pixels, int width, int height, int stride, Buffer *b, unsigned char *row) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, b, append, flush);
    png_set_compression_level(png, 3);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        const uint32_t *src = (const uint32_t *)(const void *)(pixels + (size_t)y * (size_t)stride);
        for (int x = 0; x < width; x++) {
            row[3 * x] = (unsigned char)(src[x] >> 16);
            row[3 * x + 1] = (unsigned char)(src[x] >> 8);
            row[3 * x + 2] = (unsigned char)src[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

int png_encode_rgb24(const unsigned char *pixels, int width, int height, int stride, const char *what,
                     unsigned char **out, size_t *size) {
    Buffer b = {0};
    unsigned char *row = malloc(3 * (size_t)width);
    const bool ok = row && encode(pixels, width, height, stride, &b, row) && !b.failed;
    free(row);
    if (!ok) {
        free(b.data);
        return yolo_fail("cannot encode %s as PNG (%dx%d): out of memory or a libpng error", what, width, height);
    }
    *out = b.data;
    *size = b.size;
    return 0;
}
