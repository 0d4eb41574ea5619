#include "backend/cpu/packed_conv.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PACK_TARGET __attribute__((target("avx2")))
#else
#define PACK_TARGET
#endif

#include "backend/cpu/tile_kernel.h"

int64_t packed_weight_floats(int64_t m, int64_t k) { return (m + TILE_MR - 1) / TILE_MR * TILE_MR * k; }

void packed_weights(const float *w, int64_t m, int64_t k, float *packed) {
    for (int64_t r0 = 0; r0 < m; r0 += TILE_MR, packed += TILE_MR * k)
        for (int64_t kk = 0; kk < k; kk++)
            for (int r = 0; r < TILE_MR; r++) packed[kk * TILE_MR + r] = r0 + r < m ? w[(r0 + r) * k + kk] : 0.0f;
}

void packed_weights_flipped(const float *w, int64_t cout, int64_t cin, int kh, int kw, float *packed) {
    int64_t taps = (int64_t)kh * kw, k = cout * taps;
    for (int64_t r0 = 0; r0 < cin; r0 += TILE_MR, packed += TILE_MR * k)
        for (int64_t co = 0; co < cout; co++)
            for (int64_t t = 0; t < taps; t++) {
                float *dst = packed + (co * taps + t) * TILE_MR;
                for (int r = 0; r < TILE_MR; r++)
                    dst[r] = r0 + r < cin ? w[(co * cin + r0 + r) * taps + (taps - 1 - t)] : 0.0f;
            }
}

// Where each of a tile's 16 columns reads for one kernel tap (i, j), as offsets into a channel
// plane (-1: padding, or past the tile's last column), and how the 16 reads are laid out, so that
// packing a row is one copy for most taps.
// READS_MASKED: 16 consecutive floats of the plane of which some columns are padding (a tile that
// crosses output rows, or the image's left or right edge, in a convolution that keeps the width).
typedef enum { READS_ZERO, READS_RUN, READS_MASKED, READS_RUN2, READS_GATHER } ReadKind;

typedef struct {
    int32_t off[TILE_NR];
    uint32_t keep[TILE_NR]; // READS_MASKED: all ones where the column reads the image, else 0
    ReadKind kind;
} TapReads;

// The image row and column a tile's column q reads at tap (0, 0); q >= n marks a column past the
// output's end.
typedef struct {
    int64_t y[TILE_NR], x[TILE_NR];
    int n;
} TileOrigin;

static void tile_origin(const ColGeom *g, int64_t p0, int n, TileOrigin *o) {
    int64_t oy = p0 / g->ow, ox = p0 % g->ow;
    o->n = n;
    for (int q = 0; q < n; q++) {
        o->y[q] = oy * g->sh - g->ph;
        o->x[q] = ox * g->sw - g->pw;
        if (++ox == g->ow) ox = 0, oy++;
    }
}

static void tap_reads(const ColGeom *g, const TileOrigin *o, int i, int j, TapReads *t) {
    bool any = false, run = true, run2 = true, masked = true;
    int64_t dy = (int64_t)i * g->dh, dx = (int64_t)j * g->dw, first = 0;
    for (int q = 0; q < TILE_NR; q++) {
        int64_t iy = q < o->n ? o->y[q] + dy : -1, ix = q < o->n ? o->x[q] + dx : -1;
        bool inside = iy >= 0 && iy < g->h && ix >= 0 && ix < g->w;
        int64_t at = iy * g->w + ix; // where the column would read, inside the image or not
        if (q == 0) first = at;
        t->off[q] = inside ? (int32_t)at : -1;
        t->keep[q] = inside ? UINT32_MAX : 0;
        any |= inside;
        run &= inside && t->off[q] == t->off[0] + q;
        run2 &= inside && t->off[q] == t->off[0] + 2 * q;
        masked &= !inside || (q < o->n && at == first + q);
    }
    // A masked run reads all 16 floats, so they must lie inside the plane.
    masked &= first >= 0 && first + TILE_NR <= g->h * g->w;
    t->off[0] = masked && !run ? (int32_t)first : t->off[0];
    t->kind = !any ? READS_ZERO : run ? READS_RUN : masked ? READS_MASKED : run2 ? READS_RUN2 : READS_GATHER;
}

// The next tile reads the 16 floats after this one's in most rows. A tile's rows lie in up to K
// different places of the image, more streams than the hardware prefetcher follows, so without
// this each row's first read of a tile waits for memory (measured: the packed forward was 25-30%
// slower inside the whole model, with cold activations, than on a warm layer alone).
static inline void prefetch(const float *p) {
#ifdef __x86_64__
    _mm_prefetch((const char *)p, _MM_HINT_T0);
#else
    (void)p;
#endif
}

PACK_TARGET static void pack_row(const TapReads *t, const float *plane, float *dst) {
    switch (t->kind) {
    case READS_ZERO:
        memset(dst, 0, TILE_NR * sizeof(float));
        break;
    case READS_RUN:
        memcpy(dst, plane + t->off[0], TILE_NR * sizeof(float));
        prefetch(plane + t->off[0] + TILE_NR);
        break;
    case READS_MASKED: {
#ifdef __x86_64__
        const float *src = plane + t->off[0];
        __m256 k0 = _mm256_loadu_ps((const float *)t->keep), k1 = _mm256_loadu_ps((const float *)t->keep + 8);
        _mm256_storeu_ps(dst, _mm256_and_ps(_mm256_loadu_ps(src), k0));
        _mm256_storeu_ps(dst + 8, _mm256_and_ps(_mm256_loadu_ps(src + 8), k1));
        prefetch(src + TILE_NR);
#else
        for (int q = 0; q < TILE_NR; q++) dst[q] = t->keep[q] ? plane[t->off[0] + q] : 0.0f;
#endif
        break;
    }
    case READS_RUN2: { // every other float of src[0..30]: the last load starts at 23 so none reads past 30
        const float *src = plane + t->off[0];
#ifdef __x86_64__
        __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
        __m256 v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 23);
        __m256 lo = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0)); // even lanes of v0 and v1
        __m256 hi = _mm256_shuffle_ps(v2, v3, _MM_SHUFFLE(3, 1, 2, 0)); // even of v2, odd of v3
        _mm256_storeu_ps(dst, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(lo), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_storeu_ps(dst + 8, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(hi), _MM_SHUFFLE(3, 1, 2, 0))));
        prefetch(src + 2 * TILE_NR);
        prefetch(src + 3 * TILE_NR);
#else
        for (int q = 0; q < TILE_NR; q++) dst[q] = src[2 * q];
#endif
        break;
    }
    case READS_GATHER:
        for (int q = 0; q < TILE_NR; q++) {
            int32_t off = t->off[q];
            float v = plane[off < 0 ? 0 : off];
            dst[q] = off < 0 ? 0.0f : v;
        }
        break;
    }
}

// Rows [k0, k0 + kc) of the tile's columns, 16 floats a row, given the reads of every tap.
static void pack_panel(const ColGeom *g, const float *img, const TapReads *reads, int64_t k0, int64_t kc,
                       float *panel) {
    int taps = g->kh * g->kw;
    int64_t ci = k0 / taps, plane = g->h * g->w;
    int t = (int)(k0 % taps);
    for (int64_t kk = 0; kk < kc; kk++) {
        pack_row(&reads[t], img + ci * plane, panel + kk * TILE_NR);
        if (++t == taps) t = 0, ci++;
    }
}

int64_t packed_scratch_floats(const ColGeom *g) {
    size_t taps = (size_t)g->kh * (size_t)g->kw * sizeof(TapReads);
    return (int64_t)PACKED_KC * TILE_NR + (int64_t)((taps + sizeof(float) - 1) / sizeof(float));
}

void packed_conv(const ColGeom *g, const float *packed, int64_t m, const float *img, float *out, bool accumulate,
                 float *scratch) {
    int64_t k = col_rows(g), plane = g->oh * g->ow;
    float *panel = scratch;
    TapReads *reads = (TapReads *)(scratch + (int64_t)PACKED_KC * TILE_NR);
    for (int64_t p0 = 0; p0 < plane; p0 += TILE_NR) {
        int n = (int)(plane - p0 < TILE_NR ? plane - p0 : TILE_NR);
        TileOrigin origin;
        tile_origin(g, p0, n, &origin);
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) tap_reads(g, &origin, i, j, &reads[i * g->kw + j]);
        for (int64_t k0 = 0; k0 < k; k0 += PACKED_KC) {
            int64_t kc = k - k0 < PACKED_KC ? k - k0 : PACKED_KC;
            pack_panel(g, img, reads, k0, kc, panel);
            for (int64_t r0 = 0; r0 < m; r0 += TILE_MR) {
                int rows = (int)(m - r0 < TILE_MR ? m - r0 : TILE_MR);
                tile_kernel(kc, packed + r0 * k + k0 * TILE_MR, panel, out + r0 * plane + p0, plane, rows, n,
                            accumulate || k0 > 0);
            }
        }
    }
}

// The weight gradient: dw[m x K] += dy[m x plane] * col(img)^T, with the plane as the summed
// dimension. dy is packed into 6-row panels PACKED_PC pixels at a time (used by every group of 16
// window rows), and each group of 16 window rows of the column matrix is gathered row by row,
// then transposed into a 16-column panel. Every element of dw is one FMA chain over the pixels in
// order, continued across blocks and across the samples added into the same dw.
enum { PACKED_PC = 256 };

int64_t packed_weight_grad_scratch_floats(int64_t m) {
    return packed_weight_floats(m, PACKED_PC) + 2 * (int64_t)PACKED_PC * TILE_NR;
}

// One column-matrix row over pixels [p0, p0 + pc) for a stride-1 convolution that keeps the
// width: pixel p reads the plane at p + shift, so the row is one copy of the plane, with zeros
// where that leaves the plane and then in the columns that read past the left or right edge.
static void shifted_row(const ColGeom *g, const float *plane, int i, int j, int64_t p0, int64_t pc, float *dst) {
    int64_t dx = (int64_t)j * g->dw - g->pw, shift = ((int64_t)i * g->dh - g->ph) * g->w + dx;
    int64_t lo = -shift - p0, hi = g->h * g->w - shift - p0; // [lo, hi): inside the plane
    if (lo < 0) lo = 0;
    if (hi > pc) hi = pc;
    if (lo > hi) lo = hi;
    memset(dst, 0, (size_t)lo * sizeof(float));
    if (hi > lo) memcpy(dst + lo, plane + p0 + lo + shift, (size_t)(hi - lo) * sizeof(float));
    memset(dst + hi, 0, (size_t)(pc - hi) * sizeof(float));
    if (dx == 0) return;
    // Output columns [0, -dx) read left of the image, [w - dx, w) right of it.
    int64_t c_lo = dx < 0 ? 0 : g->w - dx, c_hi = dx < 0 ? -dx : g->w;
    if (c_lo < 0) c_lo = 0;
    if (c_hi > g->w) c_hi = g->w;
    for (int64_t row = p0 / g->w * g->w; row < p0 + pc; row += g->w)
        for (int64_t c = c_lo; c < c_hi; c++)
            if (row + c >= p0 && row + c < p0 + pc) dst[row + c - p0] = 0.0f;
}

// rows[r][0, pc) = column-matrix row k0 + r over pixels [p0, p0 + pc), for r < nk; the rest zero.
static void gather_rows(const ColGeom *g, const float *img, int64_t k0, int nk, int64_t p0, int64_t pc, float *rows) {
    int taps = g->kh * g->kw;
    for (int r = 0; r < TILE_NR; r++) {
        float *dst = rows + r * PACKED_PC;
        if (r >= nk) {
            memset(dst, 0, (size_t)pc * sizeof(float));
            continue;
        }
        int64_t k = k0 + r, ci = k / taps;
        int t = (int)(k % taps), i = t / g->kw, j = t % g->kw;
        const float *plane = img + ci * g->h * g->w;
        if (g->sh == 1 && g->sw == 1 && g->ow == g->w) {
            shifted_row(g, plane, i, j, p0, pc, dst);
            continue;
        }
        for (int64_t p = p0; p < p0 + pc;) { // one output row's part of the block at a time
            int64_t oy = p / g->ow, ox = p % g->ow;
            int64_t len = g->ow - ox < p0 + pc - p ? g->ow - ox : p0 + pc - p;
            float *out = dst + (p - p0);
            int64_t iy = oy * g->sh - g->ph + (int64_t)i * g->dh, ix0 = ox * g->sw - g->pw + (int64_t)j * g->dw;
            // Pixels [lo, hi) of the run read inside the image row; the rest read padding.
            int64_t lo = ix0 < 0 ? (-ix0 + g->sw - 1) / g->sw : 0, hi = ix0 < g->w ? (g->w - ix0 + g->sw - 1) / g->sw : 0;
            if (iy < 0 || iy >= g->h) lo = hi = 0;
            if (hi > len) hi = len;
            if (lo > hi) lo = hi;
            memset(out, 0, (size_t)lo * sizeof(float));
            if (hi > lo) {
                const float *src = plane + iy * g->w + ix0 + lo * g->sw;
                if (g->sw == 1) memcpy(out + lo, src, (size_t)(hi - lo) * sizeof(float));
                else
                    for (int64_t q = 0; q < hi - lo; q++) out[lo + q] = src[q * g->sw];
            }
            memset(out + hi, 0, (size_t)(len - hi) * sizeof(float));
            p += len;
        }
    }
}

// panel[p][r] = rows[r][p]: 16 rows of pc pixels into pc rows of 16.
PACK_TARGET static void transpose_rows(const float *rows, int64_t pc, float *panel) {
    int64_t p = 0;
#ifdef __x86_64__
    for (; p + 8 <= pc; p += 8)
        for (int half = 0; half < 2; half++) { // an 8 x 8 transpose of rows 8*half .. 8*half + 7
            const float *src = rows + (int64_t)8 * half * PACKED_PC + p;
            __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + PACKED_PC);
            __m256 r2 = _mm256_loadu_ps(src + 2 * PACKED_PC), r3 = _mm256_loadu_ps(src + 3 * PACKED_PC);
            __m256 r4 = _mm256_loadu_ps(src + 4 * PACKED_PC), r5 = _mm256_loadu_ps(src + 5 * PACKED_PC);
            __m256 r6 = _mm256_loadu_ps(src + 6 * PACKED_PC), r7 = _mm256_loadu_ps(src + 7 * PACKED_PC);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *dst = panel + p * TILE_NR + 8 * half;
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(dst + TILE_NR, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(dst + 2 * TILE_NR, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(dst + 3 * TILE_NR, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(dst + 4 * TILE_NR, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(dst + 5 * TILE_NR, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(dst + 6 * TILE_NR, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(dst + 7 * TILE_NR, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
#endif
    for (; p < pc; p++)
        for (int r = 0; r < TILE_NR; r++) panel[p * TILE_NR + r] = rows[r * PACKED_PC + p];
}

void packed_weight_grad(const ColGeom *g, const float *dy, int64_t m, const float *img, float *dw, float *scratch) {
    int64_t k = col_rows(g), plane = g->oh * g->ow;
    float *dy_panels = scratch, *rows = scratch + packed_weight_floats(m, PACKED_PC);
    float *panel = rows + (int64_t)PACKED_PC * TILE_NR;
    for (int64_t p0 = 0; p0 < plane; p0 += PACKED_PC) {
        int64_t pc = plane - p0 < PACKED_PC ? plane - p0 : PACKED_PC;
        for (int64_t r0 = 0; r0 < m; r0 += TILE_MR) // dy panels: [pixel][6 rows of dy]
            for (int64_t p = 0; p < pc; p++)
                for (int r = 0; r < TILE_MR; r++)
                    dy_panels[r0 * pc + p * TILE_MR + r] = r0 + r < m ? dy[(r0 + r) * plane + p0 + p] : 0.0f;
        for (int64_t k0 = 0; k0 < k; k0 += TILE_NR) {
            int nk = (int)(k - k0 < TILE_NR ? k - k0 : TILE_NR);
            gather_rows(g, img, k0, nk, p0, pc, rows);
            transpose_rows(rows, pc, panel);
            for (int64_t r0 = 0; r0 < m; r0 += TILE_MR)
                tile_kernel(pc, dy_panels + r0 * pc, panel, dw + r0 * k + k0, k, (int)(m - r0 < TILE_MR ? m - r0 : TILE_MR),
                            nk, true);
        }
    }
}
