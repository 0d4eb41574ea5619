#include "data/pil_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

// ---- resize -----------------------------------------------------------------------------------

enum { PRECISION_BITS = 32 - 8 - 2 }; // Pillow's fixed point for 8-bit resampling

static double triangle(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

// One axis: for output index i, taps at first[i] .. first[i] + count[i] - 1 with fixed-point
// weights k[i * ksize ...]. The filter widens by the reduction factor, so every input pixel
// contributes when shrinking.
typedef struct {
    int ksize;
    int *first, *count;
    int32_t *k;
} Taps;

static void taps_free(Taps *t) {
    free(t->first);
    free(t->count);
    free(t->k);
}

static int taps_make(int in_size, int out_size, Taps *t) {
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = malloc(sizeof(int) * (size_t)out_size);
    t->count = malloc(sizeof(int) * (size_t)out_size);
    t->k = malloc(sizeof(int32_t) * (size_t)out_size * (size_t)t->ksize);
    double *w = malloc(sizeof(double) * (size_t)t->ksize);
    if (!t->first || !t->count || !t->k || !w) {
        free(w);
        taps_free(t);
        return yolo_fail("out of memory resizing %d to %d pixels", in_size, out_size);
    }
    for (int i = 0; i < out_size; i++) {
        double centre = (i + 0.5) * scale, total = 0.0;
        int lo = (int)(centre - support + 0.5), hi = (int)(centre + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in_size ? in_size : hi;
        int n = hi - lo;
        for (int j = 0; j < n; j++) {
            w[j] = triangle((j + lo - centre + 0.5) / filterscale);
            total += w[j];
        }
        int32_t *k = t->k + (size_t)i * (size_t)t->ksize;
        for (int j = 0; j < t->ksize; j++) {
            double v = j < n && total != 0.0 ? w[j] / total : 0.0;
            k[j] = (int32_t)(v * (1 << PRECISION_BITS) + (v < 0.0 ? -0.5 : 0.5));
        }
        t->first[i] = lo;
        t->count[i] = n;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int64_t v) {
    v >>= PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int pil_resize_bilinear(const Image *src, int w, int h, Image *dst) {
    Taps tx = {0}, ty = {0};
    TRY(taps_make(src->w, w, &tx));
    if (taps_make(src->h, h, &ty) != 0) {
        taps_free(&tx);
        return -1;
    }
    // Horizontal pass over the rows the vertical pass reads, skipped when the width stays.
    int row0 = ty.first[0], rows = ty.first[h - 1] + ty.count[h - 1] - row0;
    Image mid = {0};
    const Image *from = src;
    int rc = 0;
    if (w != src->w) {
        rc = image_alloc(&mid, w, rows);
        for (int y = 0; rc == 0 && y < rows; y++) {
            const uint8_t *in = src->rgb + (size_t)(y + row0) * (size_t)src->w * 3;
            uint8_t *out = mid.rgb + (size_t)y * (size_t)w * 3;
            for (int x = 0; x < w; x++) {
                const int32_t *k = tx.k + (size_t)x * (size_t)tx.ksize;
                for (int c = 0; c < 3; c++) {
                    int64_t s = 1 << (PRECISION_BITS - 1);
                    for (int j = 0; j < tx.count[x]; j++) s += (int64_t)in[(tx.first[x] + j) * 3 + c] * k[j];
                    out[x * 3 + c] = clip8(s);
                }
            }
        }
        from = &mid;
    }
    if (rc == 0 && h != src->h) {
        int shift = from == &mid ? row0 : 0; // mid's row 0 is the source's row row0
        rc = image_alloc(dst, w, h);
        for (int y = 0; rc == 0 && y < h; y++) {
            const int32_t *k = ty.k + (size_t)y * (size_t)ty.ksize;
            uint8_t *out = dst->rgb + (size_t)y * (size_t)w * 3;
            for (int x = 0; x < w * 3; x++) {
                int64_t s = 1 << (PRECISION_BITS - 1);
                for (int j = 0; j < ty.count[y]; j++)
                    s += (int64_t)from->rgb[(size_t)(ty.first[y] - shift + j) * (size_t)w * 3 + (size_t)x] * k[j];
                out[x] = clip8(s);
            }
        }
        image_free(&mid);
    } else if (rc == 0 && from == &mid) {
        *dst = mid; // only the width changed: mid holds every row
    } else if (rc == 0) {
        rc = image_alloc(dst, w, h); // same size: a copy
        if (rc == 0) memcpy(dst->rgb, src->rgb, (size_t)w * (size_t)h * 3);
    }
    if (rc != 0) image_free(&mid);
    taps_free(&tx);
    taps_free(&ty);
    return rc;
}

// ---- affine -----------------------------------------------------------------------------------

static int clip_index(int i, int n) { return i < 0 ? 0 : i < n ? i : n - 1; }

int pil_affine(const Image *src, const double m[6], Image *dst) {
    TRY(image_alloc(dst, src->w, src->h));
    int W = src->w, H = src->h;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *out = dst->rgb + ((size_t)y * (size_t)W + (size_t)x) * 3;
            double xin = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2];
            double yin = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5];
            if (!(xin >= 0.0 && xin < W && yin >= 0.0 && yin < H)) {
                out[0] = out[1] = out[2] = 0;
                continue;
            }
            xin -= 0.5;
            yin -= 0.5;
            int ix = (int)floor(xin), iy = (int)floor(yin);
            double dx = xin - ix, dy = yin - iy;
            int x0 = clip_index(ix, W) * 3, x1 = clip_index(ix + 1, W) * 3;
            const uint8_t *r0 = src->rgb + (size_t)clip_index(iy, H) * (size_t)W * 3;
            const uint8_t *r1 = iy + 1 >= 0 && iy + 1 < H ? src->rgb + (size_t)(iy + 1) * (size_t)W * 3 : NULL;
            for (int c = 0; c < 3; c++) {
                double v1 = r0[x0 + c] + (r0[x1 + c] - r0[x0 + c]) * dx;
                double v2 = r1 ? r1[x0 + c] + (r1[x1 + c] - r1[x0 + c]) * dx : v1;
                v1 = v1 + (v2 - v1) * dy;
                out[c] = (uint8_t)v1;
            }
        }
    return 0;
}

void pil_inverse_affine_matrix(double cx, double cy, double angle, double tx, double ty, double scale, double shear_x,
                               double shear_y, double m[6]) {
    double rot = angle * M_PI / 180.0, sx = shear_x * M_PI / 180.0, sy = shear_y * M_PI / 180.0;
    // Rotation with shear (determinant 1), inverted, divided by the scale.
    double a = cos(rot - sy) / cos(sy);
    double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    double c = sin(rot - sy) / cos(sy);
    double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale;
    m[1] = -b / scale;
    m[2] = 0.0 / scale;
    m[3] = -c / scale;
    m[4] = a / scale;
    m[5] = 0.0 / scale;
    // Undo the translation and the centre shift, then shift back by the centre.
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
}

// Python's round(x, 15), to the precision it matters here.
static double round15(double x) { return nearbyint(x * 1e15) / 1e15; }

int pil_rotate(const Image *src, double angle, Image *dst) {
    double turn = fmod(angle, 360.0);
    turn += turn < 0.0 ? 360.0 : 0.0; // Python's angle % 360.0 is never negative
    double a = -turn * M_PI / 180.0, cx = src->w / 2.0, cy = src->h / 2.0;
    double m[6] = {round15(cos(a)), round15(sin(a)), 0.0, round15(-sin(a)), round15(cos(a)), 0.0};
    double c = m[0] * -cx + m[1] * -cy + m[2], f = m[3] * -cx + m[4] * -cy + m[5];
    m[2] = c + cx;
    m[5] = f + cy;
    return pil_affine(src, m, dst);
}

// ---- ImageEnhance -----------------------------------------------------------------------------

// Image.blend(degenerate, image, factor) for one value: interpolation truncates, extrapolation
// clips first (Pillow's ImagingBlend works in float).
static uint8_t blend(int degenerate, int value, float factor) {
    float v = (float)degenerate + factor * (float)(value - degenerate);
    if (factor >= 0.0f && factor <= 1.0f) return (uint8_t)(int)v;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

void pil_brightness(Image *img, float factor) {
    size_t n = (size_t)img->w * (size_t)img->h * 3;
    for (size_t i = 0; i < n; i++) img->rgb[i] = blend(0, img->rgb[i], factor);
}

void pil_color(Image *img, float factor) {
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < n; p++) {
        uint8_t *px = img->rgb + 3 * p;
        int grey = pil_grey(px);
        for (int c = 0; c < 3; c++) px[c] = blend(grey, px[c], factor);
    }
}

void pil_contrast(Image *img, float factor) {
    size_t n = (size_t)img->w * (size_t)img->h;
    double sum = 0.0;
    for (size_t p = 0; p < n; p++) sum += pil_grey(img->rgb + 3 * p);
    int mean = (int)(sum / (double)n + 0.5);
    for (size_t i = 0; i < 3 * n; i++) img->rgb[i] = blend(mean, img->rgb[i], factor);
}

// The SMOOTH filter (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, divided by 13) leaves the border pixels as
// they are, as Pillow's 3x3 filter does.
int pil_sharpness(Image *img, float factor) {
    int W = img->w, H = img->h;
    Image smooth;
    TRY(image_alloc(&smooth, W, H));
    memcpy(smooth.rgb, img->rgb, (size_t)W * (size_t)H * 3);
    static const float kernel[9] = {1 / 13.0f, 1 / 13.0f, 1 / 13.0f, 1 / 13.0f, 5 / 13.0f,
                                    1 / 13.0f, 1 / 13.0f, 1 / 13.0f, 1 / 13.0f};
    for (int y = 1; y < H - 1; y++)
        for (int x = 1; x < W - 1; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0.0f;
                for (int dy = 1; dy >= -1; dy--) // Pillow sums the row below first
                    for (int dx = -1; dx <= 1; dx++)
                        s += (float)img->rgb[((size_t)(y + dy) * (size_t)W + (size_t)(x + dx)) * 3 + (size_t)c] *
                             kernel[(1 - dy) * 3 + dx + 1];
                smooth.rgb[((size_t)y * (size_t)W + (size_t)x) * 3 + (size_t)c] = s <= 0.0f ? 0 : s >= 255.0f ? 255 : (uint8_t)(s + 0.5f);
            }
    size_t n = (size_t)W * (size_t)H * 3;
    for (size_t i = 0; i < n; i++) img->rgb[i] = blend(smooth.rgb[i], img->rgb[i], factor);
    image_free(&smooth);
    return 0;
}

// ---- hue --------------------------------------------------------------------------------------

static int clip8i(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

// Pillow's 8-bit RGB -> HSV (H and S scaled to 0..255 and truncated) and back.
static void rgb_to_hsv(const uint8_t *rgb, uint8_t *hsv) {
    int r = rgb[0], g = rgb[1], b = rgb[2];
    int hi = r > g ? (r > b ? r : b) : (g > b ? g : b), lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
    hsv[2] = (uint8_t)hi;
    if (hi == lo) {
        hsv[0] = hsv[1] = 0;
        return;
    }
    float cr = (float)(hi - lo), s = cr / (float)hi;
    float rc = (float)(hi - r) / cr, gc = (float)(hi - g) / cr, bc = (float)(hi - b) / cr, h;
    // The offsets are doubles in Pillow, and the last bit decides some truncations below.
    if (r == hi) h = bc - gc;
    else if (g == hi) h = (float)(2.0 + rc - bc);
    else h = (float)(4.0 + gc - rc);
    h = (float)fmod(h / 6.0 + 1.0, 1.0);
    hsv[0] = (uint8_t)clip8i((int)(h * 255.0));
    hsv[1] = (uint8_t)clip8i((int)(s * 255.0));
}

static void hsv_to_rgb(const uint8_t *hsv, uint8_t *rgb) {
    int v = hsv[2];
    if (hsv[1] == 0) {
        rgb[0] = rgb[1] = rgb[2] = (uint8_t)v;
        return;
    }
    int i = (int)floor((float)hsv[0] * 6.0 / 255.0);
    float f = (float)((float)hsv[0] * 6.0 / 255.0 - (float)i), fs = (float)(hsv[1] / 255.0);
    uint8_t p = (uint8_t)clip8i((int)round(v * (1.0 - fs))), q = (uint8_t)clip8i((int)round(v * (1.0 - fs * f)));
    uint8_t t = (uint8_t)clip8i((int)round(v * (1.0 - fs * (1.0 - f)))), V = (uint8_t)v;
    const uint8_t table[6][3] = {{V, t, p}, {q, V, p}, {p, V, t}, {p, q, V}, {t, p, V}, {V, p, q}};
    memcpy(rgb, table[i % 6], 3);
}

void pil_hue(Image *img, float factor) {
    // numpy's uint8 of a negative float goes through a wrapping integer conversion.
    uint8_t shift = (uint8_t)(int)(factor * 255.0f);
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < n; p++) {
        uint8_t hsv[3];
        rgb_to_hsv(img->rgb + 3 * p, hsv);
        hsv[0] = (uint8_t)(hsv[0] + shift);
        hsv_to_rgb(hsv, img->rgb + 3 * p);
    }
}

// ---- ImageOps ---------------------------------------------------------------------------------

static void apply_luts(Image *img, const uint8_t lut[3][256]) {
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < n; p++)
        for (int c = 0; c < 3; c++) img->rgb[3 * p + (size_t)c] = lut[c][img->rgb[3 * p + (size_t)c]];
}

static void histograms(const Image *img, int64_t hist[3][256]) {
    memset(hist, 0, sizeof(int64_t) * 3 * 256);
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < n; p++)
        for (int c = 0; c < 3; c++) hist[c][img->rgb[3 * p + (size_t)c]]++;
}

void pil_posterize(Image *img, int bits) {
    uint8_t mask = (uint8_t)~((1 << (8 - bits)) - 1), lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++) lut[c][i] = (uint8_t)(i & mask);
    apply_luts(img, lut);
}

void pil_solarize(Image *img, double threshold) {
    uint8_t lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++) lut[c][i] = (uint8_t)(i >= threshold ? 255 - i : i);
    apply_luts(img, lut);
}

void pil_autocontrast(Image *img) {
    int64_t hist[3][256];
    uint8_t lut[3][256];
    histograms(img, hist);
    for (int c = 0; c < 3; c++) {
        int lo = 0, hi = 255;
        while (lo < 255 && !hist[c][lo]) lo++;
        while (hi > 0 && !hist[c][hi]) hi--;
        double scale = hi > lo ? 255.0 / (hi - lo) : 1.0, offset = hi > lo ? -lo * scale : 0.0;
        for (int i = 0; i < 256; i++) lut[c][i] = (uint8_t)(hi > lo ? clip8i((int)(i * scale + offset)) : i);
    }
    apply_luts(img, lut);
}

void pil_equalize(Image *img) {
    int64_t hist[3][256];
    uint8_t lut[3][256];
    histograms(img, hist);
    for (int c = 0; c < 3; c++) {
        int64_t total = 0, last = 0;
        int used = 0;
        for (int i = 0; i < 256; i++)
            if (hist[c][i]) {
                total += hist[c][i];
                last = hist[c][i];
                used++;
            }
        int64_t step = used > 1 ? (total - last) / 255 : 0;
        int64_t acc = step / 2;
        for (int i = 0; i < 256; i++) {
            lut[c][i] = (uint8_t)(step ? (acc / step > 255 ? 255 : acc / step) : i);
            acc += hist[c][i];
        }
    }
    apply_luts(img, lut);
}
