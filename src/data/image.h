// Decoded images: 8-bit RGB, rows top to bottom, pixels interleaved (HWC), as the augmentation
// code and the plots want them. Decoding uses libpng and TurboJPEG; resizing follows OpenCV's
// INTER_LINEAR conventions (pixel centres at +0.5) so augmented images match Ultralytics'.
#ifndef YOLO_DATA_IMAGE_H
#define YOLO_DATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int w, h;
    uint8_t *rgb; // w * h * 3 bytes, owned
} Image;

// Images smaller than this on a side are refused, as Ultralytics does (it calls them corrupt).
enum { IMAGE_MIN_SIDE = 10, IMAGE_MAX_SIDE = 32768 };

// Decodes PNG or JPEG (told apart by their signatures, not the file name) and applies the EXIF
// orientation of JPEGs, so w and h are the upright size. `name` is only for messages. Never
// crashes on any input; returns -1 with a message naming `name` and the problem.
int image_decode(const uint8_t *bytes, size_t len, const char *name, Image *out);
int image_read(const char *path, Image *out);
// Only the header: the upright size (EXIF applied) without decoding pixels, for dataset scans.
int image_read_size(const char *path, int *w, int *h);

int image_write_png(const char *path, const Image *img);
int image_write_jpeg(const char *path, const Image *img, int quality);

// Ultralytics' IMG_FORMATS: whether the file name ends in an image suffix (bmp, jpg, png, webp,
// ...; any case). Datasets and predict sources list files by it; what the decoders read is told
// by the file's signature.
bool image_suffix_listed(const char *path);

int image_alloc(Image *img, int w, int h); // pixels uninitialised
void image_free(Image *img);

// dst = src resized to w x h with bilinear interpolation, OpenCV INTER_LINEAR style.
int image_resize_linear(const Image *src, int w, int h, Image *dst);

#endif
