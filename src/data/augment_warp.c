// Random perspective (spec §8, Ultralytics' RandomPerspective): the matrix, the image warp and
// the object transform with box-candidate filtering.
//
// The warp maps every output pixel back through M^-1 and samples bilinearly in fixed point:
// source coordinates are 64-bit integers with 32 fraction bits, the bilinear weights take the
// top 11 of them (1/2048 pixel), and the two lerps are exact integers rounded half up once.
// Integer arithmetic keeps the bits independent of compiler and CPU. For an affine M the
// coordinates step by a constant per pixel (no division, no float conversion), and when M has
// no rotation or shear (the default hyperparameters) rows and columns separate: each output row
// blends two source rows once, then every pixel blends two columns of that blend, with the same
// integer sums and so the same bits as the general path.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/augment.h"

enum { FRAC_BITS = 11, FRAC_ONE = 1 << FRAC_BITS };

// c = a b for row-major 3x3 matrices.
static void matmul3(const double a[9], const double b[9], double c[9]) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) c[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}

void augment_perspective_matrix(const AugmentParams *p, int in_w, int in_h, int out_w, int out_h, RngCursor *rng,
                                double m[9], double *scale) {
    double u[8];
    for (int i = 0; i < 8; i++) u[i] = rng_next_uniform(rng);
    // Centre of the input at the origin, so rotation, scale and shear act about it.
    double C[9] = {1, 0, -in_w / 2.0, 0, 1, -in_h / 2.0, 0, 0, 1};
    double P[9] = {1, 0, 0, 0, 1, 0, p->perspective * (2 * u[0] - 1), p->perspective * (2 * u[1] - 1), 1};
    // cv2.getRotationMatrix2D about the origin: [[a, b], [-b, a]] with a = s cos, b = s sin.
    double angle = p->degrees * (2 * u[2] - 1) * (M_PI / 180.0);
    double s = (1.0 - p->scale) + 2.0 * p->scale * u[3];
    double R[9] = {s * cos(angle), s * sin(angle), 0, -s * sin(angle), s * cos(angle), 0, 0, 0, 1};
    double S[9] = {1, tan(p->shear * (2 * u[4] - 1) * (M_PI / 180.0)), 0,
                   tan(p->shear * (2 * u[5] - 1) * (M_PI / 180.0)), 1, 0, 0, 0, 1};
    double T[9] = {1, 0, (0.5 - p->translate + 2.0 * p->translate * u[6]) * out_w,
                   0, 1, (0.5 - p->translate + 2.0 * p->translate * u[7]) * out_h, 0, 0, 1};
    double pc[9], rpc[9], srpc[9];
    matmul3(P, C, pc);
    matmul3(R, pc, rpc);
    matmul3(S, rpc, srpc);
    matmul3(T, srpc, m);
    *scale = s;
}

// The inverse by cofactors; returns 0 for a singular (or non-finite) matrix. A nearly singular
// one is inverted: its huge coordinates are handled by the samplers.
static int invert3(const double m[9], double inv[9]) {
    double c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6];
    double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
    if (det == 0.0 || !isfinite(det)) return 0;
    double r = 1.0 / det;
    inv[0] = c00 * r;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) * r;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) * r;
    inv[3] = c01 * r;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) * r;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) * r;
    inv[6] = c02 * r;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) * r;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) * r;
    return 1;
}

enum { COORD_BITS = 32 };
#define COORD_ONE ((int64_t)1 << COORD_BITS)
// Beyond this many pixels a coordinate is far outside any image; bounding coordinates here keeps
// the 32.32 fixed point clear of overflow.
#define COORD_LIMIT 1073741824.0

// The source image as the sampler reads it. Passed by value: the output is written through a
// uint8_t pointer, which may alias anything, so fields read through a pointer would be reloaded
// after every store.
typedef struct {
    const uint8_t *rgb;
    size_t stride;
    int w, h;
    uint64_t inner_x, inner_y; // (w - 1), (h - 1) in fixed point: all four taps inside below these
} Source;

static inline int frac_of(int64_t X) { return (int)((X >> (COORD_BITS - FRAC_BITS)) & (FRAC_ONE - 1)); }

// sum over taps of p * wx * wy, rounded half up, from the per-axis fractions fx, fy. Both terms
// stay below 255 * 2^22 < 2^31.
static inline uint8_t lerp2(int p00, int p01, int p10, int p11, int fx, int fy) {
    int top = p00 * FRAC_ONE + (p01 - p00) * fx;
    int bottom = p10 * FRAC_ONE + (p11 - p10) * fx;
    return (uint8_t)((top * FRAC_ONE + (bottom - top) * fy + (1 << (2 * FRAC_BITS - 1))) >> (2 * FRAC_BITS));
}

// Near the edge, taps outside the image read the pad value (cv2 BORDER_CONSTANT).
static void sample_edge(Source src, int64_t X, int64_t Y, uint8_t *out) {
    // X, Y > -1 px: shifted by one pixel, the floor is a shift of a non-negative number.
    int ix = (int)((X + COORD_ONE) >> COORD_BITS) - 1, iy = (int)((Y + COORD_ONE) >> COORD_BITS) - 1;
    static const uint8_t pad[3] = {AUGMENT_PAD_VALUE, AUGMENT_PAD_VALUE, AUGMENT_PAD_VALUE};
    const uint8_t *tap[2][2];
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int x = ix + dx, y = iy + dy;
            bool inside = x >= 0 && x < src.w && y >= 0 && y < src.h;
            tap[dy][dx] = inside ? src.rgb + (size_t)y * src.stride + (size_t)x * 3 : pad;
        }
    int fx = frac_of(X + COORD_ONE), fy = frac_of(Y + COORD_ONE);
    for (int c = 0; c < 3; c++) out[c] = lerp2(tap[0][0][c], tap[0][1][c], tap[1][0][c], tap[1][1][c], fx, fy);
}

// One output pixel from fixed-point source coordinates.
static inline void sample(Source src, int64_t X, int64_t Y, uint8_t *out) {
    if ((uint64_t)X < src.inner_x && (uint64_t)Y < src.inner_y) {
        const uint8_t *p = src.rgb + (size_t)(Y >> COORD_BITS) * src.stride + (size_t)(X >> COORD_BITS) * 3;
        const uint8_t *q = p + src.stride;
        int fx = frac_of(X), fy = frac_of(Y);
        for (int c = 0; c < 3; c++) out[c] = lerp2(p[c], p[c + 3], q[c], q[c + 3], fx, fy);
    } else if (X > -COORD_ONE && Y > -COORD_ONE && X < (int64_t)src.w * COORD_ONE && Y < (int64_t)src.h * COORD_ONE) {
        sample_edge(src, X, Y, out);
    } else {
        out[0] = out[1] = out[2] = AUGMENT_PAD_VALUE;
    }
}

// Truncated toward zero (a plain conversion, where llrint is a library call): at 2^-32 px the
// direction of rounding does not matter, only that every path uses the same.
static inline int64_t to_fixed(double v) { return (int64_t)(v * (double)COORD_ONE); }

// Any M: per pixel in double, with the division of a perspective warp. Coordinates are clamped
// to +-COORD_LIMIT first (NaN, from a point at infinity, clamps to the low end), all outside.
static void warp_general(Source src, const double inv[9], Image *dst) {
    for (int y = 0; y < dst->h; y++) {
        uint8_t *row = dst->rgb + (size_t)y * (size_t)dst->w * 3;
        for (int x = 0; x < dst->w; x++) {
            double w = inv[6] * x + inv[7] * y + inv[8];
            double sx = (inv[0] * x + inv[1] * y + inv[2]) / w, sy = (inv[3] * x + inv[4] * y + inv[5]) / w;
            sx = fmin(fmax(sx, -COORD_LIMIT), COORD_LIMIT);
            sy = fmin(fmax(sy, -COORD_LIMIT), COORD_LIMIT);
            sample(src, to_fixed(sx), to_fixed(sy), row + 3 * x);
        }
    }
}

// Affine with bounded coordinates: the source point of (x, y) is row(y) + x * step, exactly.
static void warp_affine(Source src, const double inv[9], Image *dst) {
    int64_t step_x = to_fixed(inv[0]), step_y = to_fixed(inv[3]);
    for (int y = 0; y < dst->h; y++) {
        uint8_t *row = dst->rgb + (size_t)y * (size_t)dst->w * 3;
        int64_t X = to_fixed(inv[1] * y + inv[2]), Y = to_fixed(inv[4] * y + inv[5]);
        for (int x = 0; x < dst->w; x++, X += step_x, Y += step_y) sample(src, X, Y, row + 3 * x);
    }
}

// Affine without rotation or shear (inv[1] = inv[3] = 0): X depends on x only, Y on y only, with
// the same values as warp_affine. Rows whose taps are all inside blend their two source rows
// once; the rest of the pixels (at most two rows and the columns near the edges) go through
// sample().
static int warp_axis_aligned(Source src, const double inv[9], Image *dst) {
    int ow = dst->w;
    int64_t *xs = malloc(sizeof *xs * (size_t)ow);
    int32_t *blend = malloc(sizeof *blend * src.stride);
    if (!xs || !blend) {
        free(xs);
        free(blend);
        return yolo_fail("out of memory warping to %dx%d", ow, dst->h);
    }
    // inv[1] * y + inv[2] is inv[2] for every row, so X is warp_affine's for every row.
    int64_t step_x = to_fixed(inv[0]), X = to_fixed(inv[2]);
    int xa = ow, xb = 0; // the columns whose taps are inside: [xa, xb), one run as X is monotone
    for (int x = 0; x < ow; x++, X += step_x) {
        xs[x] = X;
        if ((uint64_t)X < src.inner_x) xa = x < xa ? x : xa, xb = x + 1;
    }
    for (int y = 0; y < dst->h; y++) {
        uint8_t *row = dst->rgb + (size_t)y * (size_t)ow * 3;
        int64_t Y = to_fixed(inv[4] * y + inv[5]);
        if (!((uint64_t)Y < src.inner_y) || xa >= xb) {
            for (int x = 0; x < ow; x++) sample(src, xs[x], Y, row + 3 * x);
            continue;
        }
        int fy = frac_of(Y);
        const uint8_t *p = src.rgb + (size_t)(Y >> COORD_BITS) * src.stride, *q = p + src.stride;
        // The blend p (1 - fy) + q fy over the bytes the inside columns read; exact in int32.
        size_t lo = (size_t)(xs[xa] >> COORD_BITS) * 3, hi = (size_t)(xs[xb - 1] >> COORD_BITS) * 3 + 6;
        for (size_t k = lo; k < hi; k++) blend[k] = p[k] * (FRAC_ONE - fy) + q[k] * fy;
        for (int x = 0; x < xa; x++) sample(src, xs[x], Y, row + 3 * x);
        for (int x = xa; x < xb; x++) {
            const int32_t *b = blend + (size_t)(xs[x] >> COORD_BITS) * 3;
            int fx = frac_of(xs[x]);
            for (int c = 0; c < 3; c++)
                row[3 * x + c] =
                    (uint8_t)((b[c] * (FRAC_ONE - fx) + b[c + 3] * fx + (1 << (2 * FRAC_BITS - 1))) >> (2 * FRAC_BITS));
        }
        for (int x = xb; x < ow; x++) sample(src, xs[x], Y, row + 3 * x);
    }
    free(xs);
    free(blend);
    return 0;
}

int augment_warp_image(const Image *image, const double m[9], int out_w, int out_h, Image *dst) {
    TRY(image_alloc(dst, out_w, out_h));
    double inv[9];
    if (!invert3(m, inv)) {
        // M squashes the image onto a line or a point (scale drawn as 0), which covers no pixel
        // centre: nothing of the image shows.
        memset(dst->rgb, AUGMENT_PAD_VALUE, (size_t)out_w * (size_t)out_h * 3);
        return 0;
    }
    Source src = {.rgb = image->rgb,
                  .stride = (size_t)image->w * 3,
                  .w = image->w,
                  .h = image->h,
                  .inner_x = (uint64_t)(image->w - 1) << COORD_BITS,
                  .inner_y = (uint64_t)(image->h - 1) << COORD_BITS};
    // The stepping paths need an affine M whose coordinates stay within COORD_LIMIT, including
    // the step past the last pixel of a row; an affine map's extremes are at the corners.
    bool stepwise = m[6] == 0.0 && m[7] == 0.0 && m[8] == 1.0;
    for (int k = 0; k < 4 && stepwise; k++) {
        double x = k & 1 ? out_w : 0, y = k & 2 ? out_h : 0;
        stepwise = fabs(inv[0] * x + inv[1] * y + inv[2]) < COORD_LIMIT &&
                   fabs(inv[3] * x + inv[4] * y + inv[5]) < COORD_LIMIT;
    }
    if (!stepwise) {
        warp_general(src, inv, dst);
    } else if (inv[1] == 0.0 && inv[3] == 0.0) {
        if (warp_axis_aligned(src, inv, dst) != 0) {
            image_free(dst);
            return -1;
        }
    } else {
        warp_affine(src, inv, dst);
    }
    return 0;
}

bool augment_box_candidate(const float old_box[4], const float new_box[4], float area_thr) {
    const float eps = 1e-16f;
    float w1 = old_box[2] - old_box[0], h1 = old_box[3] - old_box[1];
    float w2 = new_box[2] - new_box[0], h2 = new_box[3] - new_box[1];
    float aspect = fmaxf(w2 / (h2 + eps), h2 / (w2 + eps));
    return w2 > 2.0f && h2 > 2.0f && w2 * h2 / (w1 * h1 + eps) > area_thr && aspect < 100.0f;
}

static void transform_point(const double m[9], float x, float y, float *ox, float *oy) {
    double w = m[6] * x + m[7] * y + m[8];
    *ox = (float)((m[0] * x + m[1] * y + m[2]) / w);
    *oy = (float)((m[3] * x + m[4] * y + m[5]) / w);
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

// Ultralytics' segment2box: the bounds of the points inside [0, W] x [0, H], after clipping all
// of them when at least three of the four sides are crossed; all zeros when none is inside.
static void segment_box(const float *xy, int n, float W, float H, float box[4]) {
    float xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY;
    for (int j = 0; j < n; j++) {
        xmin = fminf(xmin, xy[2 * j]), xmax = fmaxf(xmax, xy[2 * j]);
        ymin = fminf(ymin, xy[2 * j + 1]), ymax = fmaxf(ymax, xy[2 * j + 1]);
    }
    bool clip = (xmin < 0) + (ymin < 0) + (xmax > W) + (ymax > H) >= 3;
    float b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (int j = 0; j < n; j++) {
        float x = xy[2 * j], y = xy[2 * j + 1];
        if (clip) x = clampf(x, 0, W), y = clampf(y, 0, H);
        if (!(x >= 0 && y >= 0 && x <= W && y <= H)) continue;
        b[0] = fminf(b[0], x), b[1] = fminf(b[1], y), b[2] = fmaxf(b[2], x), b[3] = fmaxf(b[3], y);
    }
    bool any = b[0] <= b[2];
    for (int k = 0; k < 4; k++) box[k] = any ? b[k] : 0.0f;
}

int augment_warp_instances(Instances *in, const double m[9], double scale, int out_w, int out_h) {
    int n = in->n;
    if (n == 0) return 0;
    float *old = malloc(sizeof *old * 4 * (size_t)n);
    int *keep = malloc(sizeof *keep * (size_t)n);
    if (!old || !keep) {
        free(old);
        free(keep);
        return yolo_fail("out of memory warping %d objects", n);
    }
    // The filter compares with the old box zoomed by the drawn scale, as Ultralytics does.
    for (int k = 0; k < 4 * n; k++) old[k] = in->boxes[k] * (float)scale;
    float W = (float)out_w, H = (float)out_h;
    for (int i = 0; i < n; i++) {
        float *b = in->boxes + 4 * i;
        if (in->poly) {
            float *xy = in->points + 2 * in->poly[i];
            int len = in->poly[i + 1] - in->poly[i];
            for (int j = 0; j < len; j++) transform_point(m, xy[2 * j], xy[2 * j + 1], &xy[2 * j], &xy[2 * j + 1]);
            segment_box(xy, len, W, H, b);
            for (int j = 0; j < len; j++) {
                // Points are pulled onto their box, then the box and points onto the image.
                xy[2 * j] = clampf(clampf(xy[2 * j], b[0], b[2]), 0, W);
                xy[2 * j + 1] = clampf(clampf(xy[2 * j + 1], b[1], b[3]), 0, H);
            }
        } else {
            float cx[4], cy[4];
            const float corner[4][2] = {{b[0], b[1]}, {b[2], b[3]}, {b[0], b[3]}, {b[2], b[1]}};
            for (int k = 0; k < 4; k++) transform_point(m, corner[k][0], corner[k][1], &cx[k], &cy[k]);
            b[0] = fminf(fminf(cx[0], cx[1]), fminf(cx[2], cx[3]));
            b[1] = fminf(fminf(cy[0], cy[1]), fminf(cy[2], cy[3]));
            b[2] = fmaxf(fmaxf(cx[0], cx[1]), fmaxf(cx[2], cx[3]));
            b[3] = fmaxf(fmaxf(cy[0], cy[1]), fmaxf(cy[2], cy[3]));
        }
        b[0] = clampf(b[0], 0, W), b[1] = clampf(b[1], 0, H), b[2] = clampf(b[2], 0, W), b[3] = clampf(b[3], 0, H);
    }
    float area_thr = in->poly ? 0.01f : 0.10f;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (augment_box_candidate(old + 4 * i, in->boxes + 4 * i, area_thr)) keep[k++] = i;
    int rc = k < n ? instances_select(in, keep, k) : 0;
    free(old);
    free(keep);
    return rc;
}

int augment_random_perspective(Sample *s, const AugmentParams *p, int border, RngCursor *rng) {
    int out_w = s->img.w + 2 * border, out_h = s->img.h + 2 * border;
    if (out_w < 1 || out_h < 1)
        return yolo_fail("random perspective: border %d leaves nothing of a %dx%d image", border, s->img.w, s->img.h);
    double m[9], scale;
    augment_perspective_matrix(p, s->img.w, s->img.h, out_w, out_h, rng, m, &scale);
    static const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    bool changed = border != 0;
    for (int k = 0; k < 9; k++) changed |= m[k] != identity[k];
    if (changed) {
        Image warped;
        TRY(augment_warp_image(&s->img, m, out_w, out_h, &warped));
        image_free(&s->img);
        s->img = warped;
    }
    return augment_warp_instances(&s->inst, m, scale, out_w, out_h);
}
