// PNG encoding of a cairo RGB24 image into memory, tuned for charts: zlib level 3 with the 'up'
// filter is about three times faster than cairo's own writer (libpng's defaults) for a few
// percent more bytes on mostly white figures, which matters for results.png redrawn every epoch.
#ifndef YOLO_PLOT_PNG_ENCODE_H
#define YOLO_PLOT_PNG_ENCODE_H

#include <stddef.h>

// pixels: height rows of `stride` bytes, each pixel a native-endian uint32 0xXXRRGGBB (cairo's
// CAIRO_FORMAT_RGB24). On success *out (malloc'ed, the caller frees) holds *size bytes of PNG.
// -1 with a message naming `what` when out of memory or libpng fails.
int png_encode_rgb24(const unsigned char *pixels, int width, int height, int stride, const char *what,
                     unsigned char **out, size_t *size);

#endif
