#include "backend/cpu/direct_conv.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
bool direct_conv_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool direct_conv_available(void) { return false; }
#endif

int64_t direct_weight_floats(int64_t m, int64_t k) { return (m + DIRECT_CO - 1) / DIRECT_CO * DIRECT_CO * k; }

void direct_weights(const float *w, int64_t m, int64_t k, float *packed) {
    for (int64_t r0 = 0; r0 < m; r0 += DIRECT_CO, packed += DIRECT_CO * k)
        for (int64_t kk = 0; kk < k; kk++)
            for (int r = 0; r < DIRECT_CO; r++) packed[kk * DIRECT_CO + r] = r0 + r < m ? w[(r0 + r) * k + kk] : 0.0f;
}

void direct_weights_flipped(const float *w, int64_t cout, int64_t cin, int kh, int kw, float *packed) {
    int64_t taps = (int64_t)kh * kw, k = cout * taps;
    for (int64_t r0 = 0; r0 < cin; r0 += DIRECT_CO, packed += DIRECT_CO * k)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t t = 0; t < taps; t++) {
                float *dst = packed + (co * taps + t) * DIRECT_CO;
                for (int r = 0; r < DIRECT_CO; r++)
                    dst[r] = r0 + r < cin ? w[(co * cin + r0 + r) * taps + (taps - 1 - t)] : 0.0f;
            }
}

// The padded image covers every position the windows read: rows [0, hp) are image rows
// [-ph, hp - ph), columns likewise.
typedef struct {
    int64_t hp, wp;
} Padded;

static Padded padded_of(const ColGeom *g) {
    return (Padded){.hp = (g->oh - 1) * g->sh + (int64_t)(g->kh - 1) * g->dh + 1,
                    .wp = (g->ow - 1) * g->sw + (int64_t)(g->kw - 1) * g->dw + 1};
}

int64_t direct_scratch_floats(const ColGeom *g) {
    Padded p = padded_of(g);
    int64_t offsets = col_rows(g); // int32 each, as floats
    return g->c * p.hp * p.wp + offsets + DIRECT_CO;
}

static void pad_image(const ColGeom *g, const Padded *p, const float *img, float *xp) {
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t y = 0; y < p->hp; y++) {
            float *dst = xp + (ci * p->hp + y) * p->wp;
            int64_t iy = y - g->ph;
            if (iy < 0 || iy >= g->h) {
                memset(dst, 0, (size_t)p->wp * sizeof(float));
                continue;
            }
            // Columns [lo, hi) of the padded row come from the image row (hi >= lo as w >= 1).
            int64_t lo = g->pw < p->wp ? g->pw : p->wp, hi = g->pw + g->w < p->wp ? g->pw + g->w : p->wp;
            memset(dst, 0, (size_t)lo * sizeof(float));
            if (hi > lo) memcpy(dst + lo, img + (ci * g->h + iy) * g->w, (size_t)(hi - lo) * sizeof(float));
            memset(dst + hi, 0, (size_t)(p->wp - hi) * sizeof(float));
        }
}

// off[kk]: where window entry kk = (ci, i, j) reads, from the window's origin in the padded image.
static void window_offsets(const ColGeom *g, const Padded *p, int32_t *off) {
    int64_t taps = (int64_t)g->kh * g->kw;
    for (int64_t kk = 0; kk < col_rows(g); kk++) {
        int64_t ci = kk / taps, t = kk % taps;
        off[kk] = (int32_t)((ci * p->hp + t / g->kw * g->dh) * p->wp + t % g->kw * g->dw);
    }
}

// Where output pixel p's window starts in the padded image.
static int32_t pixel_origin(const ColGeom *g, const Padded *pd, int64_t p) {
    return (int32_t)(p / g->ow * g->sh * pd->wp + p % g->ow * g->sw);
}

#if defined(__x86_64__) && defined(__GNUC__)
// acc[v][q]: channels 8v .. 8v + 7 of pixel q. base[q] points at pixel q's window origin in the
// padded image, off[k] is window entry k's offset from it, w holds 16 channels per entry.
__attribute__((target("avx2,fma"))) static void tile(int64_t k, const float *w, const int32_t *off,
                                                     const float *const base[DIRECT_PX], float t[DIRECT_CO * DIRECT_PX]) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
    __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
    const float *b0 = base[0], *b1 = base[1], *b2 = base[2], *b3 = base[3], *b4 = base[4], *b5 = base[5];
    for (int64_t kk = 0; kk < k; kk++, w += DIRECT_CO) {
        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), x;
        int32_t o = off[kk];
        x = _mm256_broadcast_ss(b0 + o), a00 = _mm256_fmadd_ps(w0, x, a00), a10 = _mm256_fmadd_ps(w1, x, a10);
        x = _mm256_broadcast_ss(b1 + o), a01 = _mm256_fmadd_ps(w0, x, a01), a11 = _mm256_fmadd_ps(w1, x, a11);
        x = _mm256_broadcast_ss(b2 + o), a02 = _mm256_fmadd_ps(w0, x, a02), a12 = _mm256_fmadd_ps(w1, x, a12);
        x = _mm256_broadcast_ss(b3 + o), a03 = _mm256_fmadd_ps(w0, x, a03), a13 = _mm256_fmadd_ps(w1, x, a13);
        x = _mm256_broadcast_ss(b4 + o), a04 = _mm256_fmadd_ps(w0, x, a04), a14 = _mm256_fmadd_ps(w1, x, a14);
        x = _mm256_broadcast_ss(b5 + o), a05 = _mm256_fmadd_ps(w0, x, a05), a15 = _mm256_fmadd_ps(w1, x, a15);
    }
    // t[q * 16 + c]: pixel-major, so that each pixel's 16 channels are two stores.
    _mm256_storeu_ps(t + 0 * DIRECT_CO, a00), _mm256_storeu_ps(t + 0 * DIRECT_CO + 8, a10);
    _mm256_storeu_ps(t + 1 * DIRECT_CO, a01), _mm256_storeu_ps(t + 1 * DIRECT_CO + 8, a11);
    _mm256_storeu_ps(t + 2 * DIRECT_CO, a02), _mm256_storeu_ps(t + 2 * DIRECT_CO + 8, a12);
    _mm256_storeu_ps(t + 3 * DIRECT_CO, a03), _mm256_storeu_ps(t + 3 * DIRECT_CO + 8, a13);
    _mm256_storeu_ps(t + 4 * DIRECT_CO, a04), _mm256_storeu_ps(t + 4 * DIRECT_CO + 8, a14);
    _mm256_storeu_ps(t + 5 * DIRECT_CO, a05), _mm256_storeu_ps(t + 5 * DIRECT_CO + 8, a15);
}
#else
// Never called where direct_conv_available() is false; kept so the file builds everywhere.
static void tile(int64_t k, const float *w, const int32_t *off, const float *const base[DIRECT_PX],
                 float t[DIRECT_CO * DIRECT_PX]) {
    for (int q = 0; q < DIRECT_PX; q++)
        for (int c = 0; c < DIRECT_CO; c++) {
            float sum = 0.0f;
            for (int64_t kk = 0; kk < k; kk++) sum += w[kk * DIRECT_CO + c] * base[q][off[kk]];
            t[q * DIRECT_CO + c] = sum;
        }
}
#endif

void direct_conv(const ColGeom *g, const float *packed, int64_t m, const float *img, float *out, bool accumulate,
                 float *scratch) {
    Padded p = padded_of(g);
    int64_t k = col_rows(g), plane = g->oh * g->ow;
    float *xp = scratch;
    int32_t *off = (int32_t *)(scratch + g->c * p.hp * p.wp);
    pad_image(g, &p, img, xp);
    window_offsets(g, &p, off);
    float acc[DIRECT_CO * DIRECT_PX];
    const float *base[DIRECT_PX];
    for (int64_t p0 = 0; p0 < plane; p0 += DIRECT_PX) {
        int n = (int)(plane - p0 < DIRECT_PX ? plane - p0 : DIRECT_PX);
        for (int q = 0; q < DIRECT_PX; q++) // past the plane's end: repeat the first pixel, unused
            base[q] = xp + pixel_origin(g, &p, q < n ? p0 + q : p0);
        for (int64_t r0 = 0; r0 < m; r0 += DIRECT_CO) {
            tile(k, packed + r0 * k, off, base, acc);
            int rows = (int)(m - r0 < DIRECT_CO ? m - r0 : DIRECT_CO);
            for (int r = 0; r < rows; r++) {
                float *dst = out + (r0 + r) * plane + p0;
                for (int q = 0; q < n; q++) dst[q] = accumulate ? dst[q] + acc[q * DIRECT_CO + r] : acc[q * DIRECT_CO + r];
            }
        }
    }
}

int64_t direct_weight_grad_scratch_floats(const ColGeom *g, int64_t m) {
    int64_t plane = g->oh * g->ow;
    return direct_scratch_floats(g) + plane + direct_weight_floats(m, plane);
}

// Pixels per pass of the weight gradient: each pass sums its chunk of the plane for every window
// entry, so that the chunk of transposed dy (16 floats a pixel per panel, 128 KiB) stays in the L2
// cache while the window entries run over it. On the 160 x 160 stem, one pass over the whole plane
// streamed 1.6 MiB per 6 window entries from memory.
enum { DIRECT_CHUNK = 2048 };

// The same tile with the roles of pixels and window entries swapped: its 6 "pixels" are 6 window
// entries (their offsets in the padded image), its "window entries" are the output pixels (their
// origins), and its 16-channel weights are dy transposed, so the tile sums over the plane.
void direct_weight_grad(const ColGeom *g, const float *dy, int64_t m, const float *img, float *dw, float *scratch) {
    Padded p = padded_of(g);
    int64_t k = col_rows(g), plane = g->oh * g->ow;
    float *xp = scratch;
    int32_t *off = (int32_t *)(scratch + g->c * p.hp * p.wp), *origin = off + k;
    float *dy_t = scratch + direct_scratch_floats(g) + plane;
    pad_image(g, &p, img, xp);
    window_offsets(g, &p, off);
    for (int64_t q = 0; q < plane; q++) origin[q] = pixel_origin(g, &p, q);
    direct_weights(dy, m, plane, dy_t);
    float acc[DIRECT_CO * DIRECT_PX];
    const float *base[DIRECT_PX];
    for (int64_t c0 = 0; c0 < plane; c0 += DIRECT_CHUNK) {
        int64_t len = plane - c0 < DIRECT_CHUNK ? plane - c0 : DIRECT_CHUNK;
        for (int64_t k0 = 0; k0 < k; k0 += DIRECT_PX) {
            int n = (int)(k - k0 < DIRECT_PX ? k - k0 : DIRECT_PX);
            for (int q = 0; q < DIRECT_PX; q++) base[q] = xp + off[q < n ? k0 + q : k0];
            for (int64_t r0 = 0; r0 < m; r0 += DIRECT_CO) {
                tile(len, dy_t + (r0 * plane + c0 * DIRECT_CO), origin + c0, base, acc);
                int rows = (int)(m - r0 < DIRECT_CO ? m - r0 : DIRECT_CO);
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < n; q++) dw[(r0 + r) * k + k0 + q] += acc[q * DIRECT_CO + r];
            }
        }
    }
}
