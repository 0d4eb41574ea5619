// HSV jitter (spec §8, Ultralytics' RandomHSV) and the 8-bit RGB <-> HSV conversions it runs
// through, written after OpenCV's COLOR_RGB2HSV / COLOR_HSV2RGB for CV_8U (hrange 180):
// RGB -> HSV is integer arithmetic with OpenCV's 12-bit reciprocal tables, HSV -> RGB is
// OpenCV's float formula with the same operations in the same precision, rounded half to even
// (cvRound). OpenCV's SIMD paths are built to give the same results as its scalar code, which is
// what these follow.
#include <math.h>
#include <pthread.h>

#include "data/augment.h"

enum { HSV_SHIFT = 12 };

// sdiv[v] = round(255 * 2^12 / v) and hdiv[d] = round(180 * 2^12 / (6 d)), 0 at 0; the hue of
// H in 0..255: its 60-degree sector and the fraction inside it.
static int sdiv[256], hdiv[256];
static int hue_sector[256];
static float hue_frac[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void make_tables(void) {
    for (int i = 1; i < 256; i++) {
        sdiv[i] = (int)lrint((255 << HSV_SHIFT) / (1.0 * i));
        hdiv[i] = (int)lrint((180 << HSV_SHIFT) / (6.0 * i));
    }
    const float hscale = 6.0f / 180;
    for (int H = 0; H < 256; H++) {
        float h = fmodf((float)H * hscale, 6.0f);
        int sector = (int)floorf(h);
        h -= (float)sector;
        if (sector < 0 || sector >= 6) sector = 0, h = 0.0f;
        hue_sector[H] = sector;
        hue_frac[H] = h;
    }
}

static inline void rgb2hsv(int r, int g, int b, uint8_t hsv[3]) {
    int v = r > g ? r : g, vmin = r < g ? r : g;
    v = v > b ? v : b;
    vmin = vmin < b ? vmin : b;
    int diff = v - vmin;
    int s = (diff * sdiv[v] + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
    // The hue's numerator by which channel is largest, r before g, picked with masks as OpenCV
    // does: branches on pixel data mispredict.
    int vr = -(v == r), vg = -(v == g);
    int h = (vr & (g - b)) + (~vr & ((vg & (b - r + 2 * diff)) + (~vg & (r - g + 4 * diff))));
    // OpenCV shifts a possibly negative h right and then adds 180 to negatives; adding 180 << 12
    // first gives the same floor with a non-negative (portable) shift.
    int t = (h * hdiv[diff] + (1 << (HSV_SHIFT - 1)) + (180 << HSV_SHIFT)) >> HSV_SHIFT;
    hsv[0] = (uint8_t)(t >= 180 ? t - 180 : t);
    hsv[1] = (uint8_t)s;
    hsv[2] = (uint8_t)v;
}

// saturate_cast<uchar>(x * 255) for x in [0, 1]: round half to even, as lrintf, but without its
// library call (GCC keeps lrintf out of line because it may set errno): adding and removing
// 1.5 * 2^23 leaves no fraction bits, so the addition itself rounds, half to even.
static inline uint8_t to_u8(float x) { return (uint8_t)(int)((x * 255.0f + 12582912.0f) - 12582912.0f); }

static inline void hsv2rgb(int H, int S, int V, uint8_t rgb[3]) {
    // s and v are in [0, 1] (255 * (1/255.f) is exactly 1), so every entry of tab is in [0, v].
    float s = (float)S * (1.0f / 255.0f), v = (float)V * (1.0f / 255.0f);
    // Per sector, which of (v, v(1-s), v(1-sh), v(1-s(1-h))) each of b, g, r takes. OpenCV
    // returns v for s = 0, which these products give exactly.
    static const int sector_data[6][3] = {{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}};
    float h = hue_frac[H];
    float tab[4] = {v, v * (1.0f - s), v * (1.0f - s * h), v * (1.0f - s * (1.0f - h))};
    const int *k = sector_data[hue_sector[H]];
    rgb[0] = to_u8(tab[k[2]]);
    rgb[1] = to_u8(tab[k[1]]);
    rgb[2] = to_u8(tab[k[0]]);
}

void rgb_to_hsv_u8(const uint8_t rgb[3], uint8_t hsv[3]) {
    pthread_once(&tables_once, make_tables);
    rgb2hsv(rgb[0], rgb[1], rgb[2], hsv);
}

void hsv_to_rgb_u8(const uint8_t hsv[3], uint8_t rgb[3]) {
    pthread_once(&tables_once, make_tables);
    hsv2rgb(hsv[0], hsv[1], hsv[2], rgb);
}

void augment_hsv(Image *img, const AugmentParams *p, RngCursor *rng) {
    const double gain[3] = {p->hsv_h, p->hsv_s, p->hsv_v};
    double r[3];
    for (int i = 0; i < 3; i++) r[i] = (2.0 * rng_next_uniform(rng) - 1.0) * gain[i];
    // With all gains 0 the tables are the identity, but the uint8 round trip is not: skip it,
    // as Ultralytics does.
    if (gain[0] == 0.0 && gain[1] == 0.0 && gain[2] == 0.0) return;
    pthread_once(&tables_once, make_tables);
    uint8_t lut_h[256], lut_s[256], lut_v[256];
    for (int x = 0; x < 256; x++) {
        // numpy's float % 180 is non-negative; the uint8 casts truncate.
        double h = fmod(x + r[0] * 180.0, 180.0);
        lut_h[x] = (uint8_t)(h < 0 ? h + 180.0 : h);
        lut_s[x] = (uint8_t)fmin(fmax(x * (1.0 + r[1]), 0.0), 255.0);
        lut_v[x] = (uint8_t)fmin(fmax(x * (1.0 + r[2]), 0.0), 255.0);
    }
    // Ultralytics also sets lut_s[0] = 0, which the product above already gives.
    // A local pointer: img->rgb would be reloaded after every uint8_t store, which may alias it.
    uint8_t *rgb = img->rgb;
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t i = 0; i < n; i++) {
        uint8_t *px = rgb + 3 * i, hsv[3];
        rgb2hsv(px[0], px[1], px[2], hsv);
        hsv2rgb(lut_h[hsv[0]], lut_s[hsv[1]], lut_v[hsv[2]], px);
    }
}
