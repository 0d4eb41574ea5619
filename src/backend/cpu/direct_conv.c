#include "backend/cpu/direct_conv.h"

#include <stdint.h>
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

bool direct_conv_fits(const ColGeom *g) { return direct_scratch_floats(g) <= INT32_MAX; }

// dst (planes x hp x wp) = src (planes x h x w) placed with its first row at dst row lead_y and
// its first column at column lead_x (both >= 0), zeros around it; what falls past hp or wp is left
// out (a window grid that never reads the image's last rows or columns).
static void pad_planes(const float *src, int64_t planes, int64_t h, int64_t w, int64_t lead_y, int64_t lead_x,
                       int64_t hp, int64_t wp, float *dst) {
    int64_t lo = lead_x < wp ? lead_x : wp, hi = lead_x + w < wp ? lead_x + w : wp; // columns from src
    for (int64_t c = 0; c < planes; c++)
        for (int64_t y = 0; y < hp; y++, dst += wp) {
            int64_t sy = y - lead_y;
            if (sy < 0 || sy >= h) {
                memset(dst, 0, (size_t)wp * sizeof(float));
                continue;
            }
            memset(dst, 0, (size_t)lo * sizeof(float));
            if (hi > lo) memcpy(dst + lo, src + (c * h + sy) * w, (size_t)(hi - lo) * sizeof(float));
            memset(dst + hi, 0, (size_t)(wp - hi) * sizeof(float));
        }
}

static void pad_image(const ColGeom *g, const Padded *p, const float *img, float *xp) {
    pad_planes(img, g->c, g->h, g->w, g->ph, g->pw, p->hp, p->wp, xp);
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

// The input gradient of a strided convolution, by parity classes. Input row iy = sh * u + a
// (a in [0, sh)) gets dy row oy from tap i exactly when a + ph - i * dh is a multiple of sh, and
// then oy = u + e with e = (a + ph - i * dh) / sh; columns likewise. So the input positions of
// class (a, b) are a stride-1 correlation of dy over that class's taps, each tap reading dy shifted
// by its (e_i, e_j). Each tap falls in exactly one class per axis, so the classes together use
// every weight once and every input element is summed in one class.

// Whether tap i of an axis (stride s, padding p, dilation d) reaches input positions a mod s, and
// the dy shift it reads them at. Both are exact for negative values too: the remainder is 0 only
// for multiples of s, and dividing a multiple truncates nothing.
static bool tap_reaches(int i, int a, int s, int p, int d) { return ((int64_t)a + p - (int64_t)i * d) % s == 0; }
static int64_t tap_shift(int i, int a, int s, int p, int d) { return ((int64_t)a + p - (int64_t)i * d) / s; }

// Positions a, a + s, a + 2s, ... below size: the class's pixels along an axis.
static int64_t class_len(int64_t size, int a, int s) { return a < size ? (size - a + s - 1) / s : 0; }

static int64_t axis_taps(int k, int a, int s, int p, int d) {
    int64_t n = 0;
    for (int i = 0; i < k; i++) n += tap_reaches(i, a, s, p, d);
    return n;
}

// Window entries of class (a, b): m output channels times its taps.
static int64_t class_entries(const ColGeom *g, int64_t m, int a, int b) {
    return m * axis_taps(g->kh, a, g->sh, g->ph, g->dh) * axis_taps(g->kw, b, g->sw, g->pw, g->dw);
}

// One axis of the zero-padded copy of dy: `lead` zeros before dy's first row, `len` rows in all,
// covering dy and every row u + e that a class reads (u below its class_len, e a shift of its taps).
typedef struct {
    int64_t lead, len;
} GradAxis;

static GradAxis grad_axis(int64_t size, int64_t osize, int k, int s, int p, int d) {
    int64_t lo = 0, hi = osize;
    for (int a = 0; a < s; a++) {
        int64_t n = class_len(size, a, s);
        for (int i = 0; i < k && n > 0; i++) {
            if (!tap_reaches(i, a, s, p, d)) continue;
            int64_t e = tap_shift(i, a, s, p, d);
            lo = e < lo ? e : lo;
            hi = n + e > hi ? n + e : hi;
        }
    }
    return (GradAxis){.lead = -lo, .len = hi - lo};
}

typedef struct {
    GradAxis y, x;
} GradPad;

static GradPad grad_pad_of(const ColGeom *g) {
    return (GradPad){.y = grad_axis(g->h, g->oh, g->kh, g->sh, g->ph, g->dh),
                     .x = grad_axis(g->w, g->ow, g->kw, g->sw, g->pw, g->dw)};
}

int64_t direct_input_grad_packed_floats(const ColGeom *g, int64_t m) {
    int64_t entries = m * g->kh * g->kw;
    return direct_weight_floats(g->c, entries) + entries; // the weights, then the offsets (int32 each)
}

int64_t direct_input_grad_scratch_floats(const ColGeom *g, int64_t m) {
    GradPad pd = grad_pad_of(g);
    return m * pd.y.len * pd.x.len;
}

// The classes in order of a, then b. A class's entries are its (co, i, j) in that order; they start
// after all entries of the classes before it, in the offsets and (times the padded cin) in the
// weights.
void direct_input_grad_pack(const ColGeom *g, const float *w, int64_t m, float *packed) {
    GradPad pd = grad_pad_of(g);
    int64_t taps = (int64_t)g->kh * g->kw, cin = g->c, done = 0;
    int32_t *offsets = (int32_t *)(packed + direct_weight_floats(cin, m * taps));
    for (int a = 0; a < g->sh; a++)
        for (int b = 0; b < g->sw; b++) {
            int64_t k = class_entries(g, m, a, b);
            float *panels = packed + direct_weight_floats(cin, done);
            int64_t e = done;
            for (int64_t co = 0; co < m; co++)
                for (int i = 0; i < g->kh; i++) {
                    if (!tap_reaches(i, a, g->sh, g->ph, g->dh)) continue;
                    int64_t y = pd.y.lead + tap_shift(i, a, g->sh, g->ph, g->dh);
                    for (int j = 0; j < g->kw; j++) {
                        if (!tap_reaches(j, b, g->sw, g->pw, g->dw)) continue;
                        int64_t x = pd.x.lead + tap_shift(j, b, g->sw, g->pw, g->dw);
                        offsets[e] = (int32_t)((co * pd.y.len + y) * pd.x.len + x);
                        const float *src = w + co * cin * taps + (int64_t)i * g->kw + j; // w[co][0][i][j]
                        for (int64_t r0 = 0; r0 < cin; r0 += DIRECT_CO) {
                            float *dst = panels + (r0 * k + (e - done) * DIRECT_CO);
                            for (int r = 0; r < DIRECT_CO; r++) dst[r] = r0 + r < cin ? src[(r0 + r) * taps] : 0.0f;
                        }
                        e++;
                    }
                }
            done += k;
        }
}

static void pad_grad(const ColGeom *g, const GradPad *pd, int64_t m, const float *dy, float *yp) {
    pad_planes(dy, m, g->oh, g->ow, pd->y.lead, pd->x.lead, pd->y.len, pd->x.len, yp);
}

// dst[r * plane + at[q]] += acc[q * 16 + r] for the tile's rows and pixels. A full tile has a loop
// of its own, which the compiler unrolls with at[] in registers: 3-5% off the input gradient of
// yolov8n's stride-2 convs.
static void add_tile(const float *acc, int rows, int n, const int64_t at[DIRECT_PX], float *dst, int64_t plane) {
    if (n == DIRECT_PX) {
        for (int r = 0; r < rows; r++, dst += plane)
            for (int q = 0; q < DIRECT_PX; q++) dst[at[q]] += acc[q * DIRECT_CO + r];
        return;
    }
    for (int r = 0; r < rows; r++, dst += plane)
        for (int q = 0; q < n; q++) dst[at[q]] += acc[q * DIRECT_CO + r];
}

// One parity class of the input gradient: its 16-channel weight panels, its entries' offsets in the
// padded dy, and where its pixels are.
typedef struct {
    const float *panels;
    const int32_t *off;
    int64_t k;      // entries: m times the class's taps
    int64_t nu, nv; // pixels: rows and columns
    int a, b;       // the class: input rows a mod sh, columns b mod sw
} GradClass;

// Adds class c's share of the input gradient to dx: tiles of 6 of its pixels in row-major order,
// crossing rows, the last one possibly partial. Going through the plane class by class measured
// no slower than in bands of rows that all classes share (to keep dx in the cache): the time goes
// into the tile and the scattered adds, not into misses.
static void grad_class(const ColGeom *g, const GradPad *pd, const GradClass *c, const float *yp, float *dx) {
    int64_t in_plane = g->h * g->w, end = c->nu * c->nv, u = 0, v = 0; // u, v: the next pixel
    float acc[DIRECT_CO * DIRECT_PX];
    const float *base[DIRECT_PX];
    int64_t at[DIRECT_PX]; // where each pixel of the tile lies in a plane of dx
    for (int64_t p0 = 0; p0 < end; p0 += DIRECT_PX) {
        int n = (int)(end - p0 < DIRECT_PX ? end - p0 : DIRECT_PX);
        for (int q = 0; q < n; q++) {
            base[q] = yp + u * pd->x.len + v;
            at[q] = (u * g->sh + c->a) * g->w + v * g->sw + c->b;
            if (++v == c->nv) v = 0, u++;
        }
        for (int q = n; q < DIRECT_PX; q++) base[q] = base[0]; // past the end: computed, unused
        for (int64_t r0 = 0; r0 < g->c; r0 += DIRECT_CO) {
            tile(c->k, c->panels + r0 * c->k, c->off, base, acc);
            int rows = (int)(g->c - r0 < DIRECT_CO ? g->c - r0 : DIRECT_CO);
            add_tile(acc, rows, n, at, dx + r0 * in_plane, in_plane);
        }
    }
}

void direct_input_grad(const ColGeom *g, const float *packed, int64_t m, const float *dy, float *dx, float *scratch) {
    GradPad pd = grad_pad_of(g);
    int64_t cin = g->c;
    const int32_t *offsets = (const int32_t *)(packed + direct_weight_floats(cin, m * g->kh * g->kw));
    pad_grad(g, &pd, m, dy, scratch);
    int64_t done = 0;
    for (int a = 0; a < g->sh; a++)
        for (int b = 0; b < g->sw; b++) {
            GradClass c = {.panels = packed + direct_weight_floats(cin, done), .off = offsets + done,
                           .k = class_entries(g, m, a, b),
                           .nu = class_len(g->h, a, g->sh), .nv = class_len(g->w, b, g->sw), .a = a, .b = b};
            done += c.k;
            if (c.k > 0) grad_class(g, &pd, &c, scratch, dx); // no tap reaches a class when k < s: it gets nothing
        }
}
