#include "plot_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test.h"

bool plot_check_png(const char *path, int width, int height, Image *img) {
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = {0};
    const bool png = f && fread(sig, 1, 8, f) == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
    if (f) fclose(f);
    if (!png) {
        test_fail(__FILE__, __LINE__, "%s is missing or not a PNG", path);
        return false;
    }
    if (image_read(path, img) != 0) {
        test_fail(__FILE__, __LINE__, "%s does not decode: %s", path, yolo_error());
        yolo_error_clear();
        return false;
    }
    if (img->w != width || img->h != height) {
        test_fail(__FILE__, __LINE__, "%s is %dx%d, expected %dx%d", path, img->w, img->h, width, height);
        image_free(img);
        return false;
    }
    return true;
}

double plot_check_spread(const Image *img) {
    const size_t n = (size_t)img->w * (size_t)img->h;
    double sum = 0.0, sum2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double v = (img->rgb[3 * i] + img->rgb[3 * i + 1] + img->rgb[3 * i + 2]) / 3.0;
        sum += v;
        sum2 += v * v;
    }
    const double mean = sum / (double)n;
    return sqrt(fmax(0.0, sum2 / (double)n - mean * mean));
}

static bool near(const unsigned char *p, ChartColor c, int tol) {
    const double want[3] = {c.r * 255.0, c.g * 255.0, c.b * 255.0};
    for (int k = 0; k < 3; k++)
        if (fabs(p[k] - want[k]) > tol) return false;
    return true;
}

int plot_check_count(const Image *img, ChartColor c, int tol) {
    const size_t n = (size_t)img->w * (size_t)img->h;
    int count = 0;
    for (size_t i = 0; i < n; i++) count += near(img->rgb + 3 * i, c, tol);
    return count;
}

bool plot_check_pixel(const Image *img, double x, double y, ChartColor c, int tol) {
    const int ix = (int)floor(x), iy = (int)floor(y);
    if (ix < 0 || iy < 0 || ix >= img->w || iy >= img->h) return false;
    return near(img->rgb + 3 * ((size_t)iy * (size_t)img->w + (size_t)ix), c, tol);
}
