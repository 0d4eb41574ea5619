// Drawing the built-in datasets' images (shapes_internal.h): polygons rasterised with integer
// coverage, paint mixed by coverage, colours, backgrounds, clutter and noise. Integer arithmetic
// throughout once the vertices are on the grid (shapes.c says why).
#include <stdlib.h>
#include <string.h>

#include "data/shapes_internal.h"

static int64_t floor_div(int64_t a, int64_t b) {
    if (b < 0) a = -a, b = -b;
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Coverage of the polygon p over the image, counted on a 4x4 grid of sample points per pixel
// (even-odd rule, crossings rounded down to 1/256 px in integers), into cv->cov over the box that
// holds the polygon. Returns how many pixels are at least half covered.
int shapes_rasterise(Canvas *cv, const Pt *p, int n) {
    int32_t x0 = p[0].x, x1 = p[0].x, y0 = p[0].y, y1 = p[0].y;
    for (int i = 1; i < n; i++) {
        x0 = p[i].x < x0 ? p[i].x : x0;
        x1 = p[i].x > x1 ? p[i].x : x1;
        y0 = p[i].y < y0 ? p[i].y : y0;
        y1 = p[i].y > y1 ? p[i].y : y1;
    }
    int bx0 = (int)floor_div(x0, Q), bx1 = (int)floor_div(x1 + Q - 1, Q);
    int by0 = (int)floor_div(y0, Q), by1 = (int)floor_div(y1 + Q - 1, Q);
    bx0 = bx0 < 0 ? 0 : bx0;
    by0 = by0 < 0 ? 0 : by0;
    bx1 = bx1 > cv->w ? cv->w : bx1;
    by1 = by1 > cv->h ? cv->h : by1;
    cv->bx = bx0;
    cv->by = by0;
    cv->bw = bx1 > bx0 ? bx1 - bx0 : 0;
    cv->bh = by1 > by0 ? by1 - by0 : 0;
    if (cv->bw == 0 || cv->bh == 0) return 0;
    memset(cv->cov, 0, (size_t)cv->bw * (size_t)cv->bh);
    int64_t cross[MAX_VERTS];
    int64_t s_lo = (int64_t)bx0 * SS, s_hi = (int64_t)bx1 * SS; // sample columns in the box
    for (int y = by0; y < by1; y++) {
        uint8_t *row = cv->cov + (size_t)(y - by0) * (size_t)cv->bw;
        for (int j = 0; j < SS; j++) {
            int32_t yc = y * Q + (Q / SS) * j + Q / (2 * SS); // sample row centre
            int nx = 0;
            // Half-open rule on edge ends so that a vertex on the sample row counts once.
            for (int i = 0, k = n - 1; i < n; k = i++) {
                if ((p[k].y <= yc) == (p[i].y <= yc)) continue;
                int64_t num = (int64_t)(yc - p[k].y) * (p[i].x - p[k].x) * 16;
                int64_t x = (int64_t)p[k].x * 16 + floor_div(num, p[i].y - p[k].y); // 1/256 px
                int at = nx++;
                while (at > 0 && cross[at - 1] > x) cross[at] = cross[at - 1], at--;
                cross[at] = x;
            }
            for (int k = 0; k + 1 < nx; k += 2) {
                // Sample s (centre (s + 0.5) / 4 px, i.e. 64 s + 32 in 1/256 px) is inside when
                // cross[k] <= centre < cross[k + 1].
                int64_t s0 = floor_div(cross[k] - 32 + 63, 64), s1 = floor_div(cross[k + 1] - 32 + 63, 64);
                s0 = s0 < s_lo ? s_lo : s0;
                s1 = s1 > s_hi ? s_hi : s1;
                while (s0 < s1) {
                    int64_t px = s0 / SS, end = (px + 1) * SS < s1 ? (px + 1) * SS : s1;
                    row[px - bx0] += (uint8_t)(end - s0);
                    s0 = end;
                }
            }
        }
    }
    int held = 0;
    for (size_t i = 0; i < (size_t)cv->bw * (size_t)cv->bh; i++) held += cv->cov[i] >= HALF_COVER;
    return held;
}

static const int DIRECTIONS[8][2] = {{16, 0}, {11, 11}, {0, 16}, {-11, 11}, {-16, 0}, {-11, -11}, {0, -16}, {11, -11}};

// Mixes the paint into the image by the coverage in cv->cov; with owner_id > 0 the pixels it
// holds (half covered or more) become that object's.
void shapes_paint(Canvas *cv, const Paint *p, uint8_t owner_id) {
    for (int y = 0; y < cv->bh; y++) {
        int iy = cv->by + y;
        for (int x = 0; x < cv->bw; x++) {
            int cov = cv->cov[(size_t)y * (size_t)cv->bw + (size_t)x];
            if (cov == 0) continue;
            int ix = cv->bx + x;
            int t = p->shade * ((ix - p->cx) * p->ux + (iy - p->cy) * p->uy) / (p->r * 16);
            uint8_t *px = cv->rgb + ((size_t)iy * (size_t)cv->w + (size_t)ix) * 3;
            for (int c = 0; c < 3; c++) {
                int v = clamp255(p->colour.c[c] + t);
                px[c] = (uint8_t)((px[c] * (FULL_COVER - cov) + v * cov + FULL_COVER / 2) / FULL_COVER);
            }
            if (owner_id && cov >= HALF_COVER) cv->owner[(size_t)iy * (size_t)cv->w + (size_t)ix] = owner_id;
        }
    }
}

// The mean colour of the pixels the last rasterised shape holds.
Rgb shapes_mean_under(const Canvas *cv) {
    int64_t sum[3] = {0, 0, 0}, n = 0;
    for (int y = 0; y < cv->bh; y++)
        for (int x = 0; x < cv->bw; x++) {
            if (cv->cov[(size_t)y * (size_t)cv->bw + (size_t)x] < HALF_COVER) continue;
            const uint8_t *px = cv->rgb + ((size_t)(cv->by + y) * (size_t)cv->w + (size_t)(cv->bx + x)) * 3;
            for (int c = 0; c < 3; c++) sum[c] += px[c];
            n++;
        }
    Rgb m = {{0, 0, 0}};
    for (int c = 0; c < 3 && n > 0; c++) m.c[c] = (uint8_t)(sum[c] / n);
    return m;
}

int shapes_colour_distance(Rgb a, Rgb b) {
    return abs(a.c[0] - b.c[0]) + abs(a.c[1] - b.c[1]) + abs(a.c[2] - b.c[2]);
}

// Object colours: a palette entry jittered, drawn independently of the class so that only the
// shape tells classes apart.
static Rgb draw_colour(RngCursor *c) {
    static const Rgb PALETTE[] = {
        {{220, 40, 40}},  {{40, 160, 60}},   {{40, 80, 210}},   {{240, 200, 40}},
        {{240, 130, 30}}, {{130, 60, 180}},  {{40, 190, 200}},  {{210, 60, 160}},
        {{240, 240, 240}}, {{30, 30, 30}},   {{128, 128, 128}}, {{130, 85, 45}},
    };
    Rgb col = PALETTE[draw_u32(c) % (sizeof PALETTE / sizeof PALETTE[0])];
    for (int k = 0; k < 3; k++) col.c[k] = (uint8_t)clamp255(col.c[k] + draw_int(c, -20, 20));
    return col;
}

// Half the backgrounds are pale, as in many photographs; the rest any colour.
static Rgb draw_background_colour(RngCursor *c) {
    bool pale = draw_u32(c) & 1;
    Rgb col;
    for (int k = 0; k < 3; k++) col.c[k] = (uint8_t)(pale ? draw_int(c, 150, 250) : draw_int(c, 0, 255));
    return col;
}

// A colour that stands out from what the last rasterised shape covers (its mean) and from the
// objects in `avoid`; false when COLOUR_TRIES draws found none.
bool shapes_draw_contrasting_colour(const Canvas *cv, RngCursor *c, const Rgb *avoid, int n_avoid, Rgb *out) {
    Rgb under = shapes_mean_under(cv);
    for (int t = 0; t < COLOUR_TRIES; t++) {
        Rgb col = draw_colour(c);
        bool ok = shapes_colour_distance(col, under) >= MIN_CONTRAST;
        for (int i = 0; i < n_avoid && ok; i++) ok = shapes_colour_distance(col, avoid[i]) >= MIN_CONTRAST;
        if (ok) {
            *out = col;
            return true;
        }
    }
    return false;
}

Paint shapes_draw_paint(RngCursor *c, Rgb colour, Pt centre, int32_t radius) {
    const int *d = DIRECTIONS[draw_int(c, 0, 7)];
    int r = radius / Q;
    return (Paint){.colour = colour, .shade = draw_int(c, -16, 16), .ux = d[0], .uy = d[1],
                   .cx = centre.x / Q, .cy = centre.y / Q, .r = r > 0 ? r : 1};
}

// Flat (40%) or a linear gradient between two colours in any direction.
void shapes_paint_background(Canvas *cv, RngCursor *c) {
    bool flat = draw_int(c, 0, 9) < 4;
    Rgb a = draw_background_colour(c), b = draw_background_colour(c);
    int ux = draw_int(c, -16, 16), uy = draw_int(c, -16, 16);
    if (flat) b = a;
    if (ux == 0 && uy == 0) ux = 16;
    // Projections of the four corners bound the ramp.
    int lo = 0, hi = 0;
    for (int k = 0; k < 4; k++) {
        int v = (k & 1 ? cv->w - 1 : 0) * ux + (k & 2 ? cv->h - 1 : 0) * uy;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    int span = hi - lo > 0 ? hi - lo : 1;
    for (int y = 0; y < cv->h; y++)
        for (int x = 0; x < cv->w; x++) {
            int t = (x * ux + y * uy - lo) * 256 / span;
            uint8_t *px = cv->rgb + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
            for (int k = 0; k < 3; k++) px[k] = (uint8_t)(a.c[k] + (b.c[k] - a.c[k]) * t / 256);
        }
}

// The outline of a plus sign with arms of half length `arm` (1/16 px), a quarter as wide,
// rotated by angle; vertices rounded as in shape_outline.
static void cross_outline(Pt centre, int32_t arm, double angle, Pt *out) {
    static const double LOCAL[12][2] = {{1, .25},   {.25, .25},   {.25, 1},   {-.25, 1},  {-.25, .25}, {-1, .25},
                                        {-1, -.25}, {-.25, -.25}, {-.25, -1}, {.25, -1},  {.25, -.25}, {1, -.25}};
    double cs = cos(angle), sn = sin(angle);
    for (int i = 0; i < 12; i++) {
        double x = LOCAL[i][0] * arm, y = LOCAL[i][1] * arm;
        out[i] = offset(centre, x * cs - y * sn, x * sn + y * cs);
    }
}

// Clutter a model must learn to ignore: straight lines 1..3 px wide across the background, and
// plus signs coloured like the objects but of no class.
void shapes_paint_clutter(Canvas *cv, RngCursor *c, int n_lines, int n_crosses) {
    for (int i = 0; i < n_crosses; i++) {
        Pt centre = draw_point(c, 0, cv->w, 0, cv->h), outline[12];
        int32_t arm = draw_coord(c, 6.0, 6.0 + 0.1 * (cv->w < cv->h ? cv->w : cv->h));
        cross_outline(centre, arm, TWO_PI * draw_unit(c), outline);
        Rgb colour = draw_colour(c);
        shapes_rasterise(cv, outline, 12);
        shapes_paint(cv, &(Paint){.colour = colour, .r = 1}, 0);
    }
    for (int i = 0; i < n_lines; i++) {
        Pt a = draw_point(c, -0.1 * cv->w, 1.1 * cv->w, -0.1 * cv->h, 1.1 * cv->h);
        Pt b = draw_point(c, -0.1 * cv->w, 1.1 * cv->w, -0.1 * cv->h, 1.1 * cv->h);
        double half = draw_int(c, 2, 6) * (Q / 4.0); // half width, 1/16 px
        Rgb colour = draw_background_colour(c);
        double dx = b.x - a.x, dy = b.y - a.y, len = sqrt(dx * dx + dy * dy);
        if (len < Q) continue;
        int32_t ox = (int32_t)floor(-dy * half / len + 0.5), oy = (int32_t)floor(dx * half / len + 0.5);
        Pt quad[4] = {{a.x + ox, a.y + oy}, {b.x + ox, b.y + oy}, {b.x - ox, b.y - oy}, {a.x - ox, a.y - oy}};
        shapes_rasterise(cv, quad, 4);
        shapes_paint(cv, &(Paint){.colour = colour, .r = 1}, 0);
    }
}

// Sensor-like luminance noise of about +-amplitude * 2 grey levels, from whole Philox blocks
// (16 pixels a block) rather than one draw per pixel, for speed.
void shapes_add_noise(Canvas *cv, uint64_t stream, int amplitude) {
    size_t n = (size_t)cv->w * (size_t)cv->h;
    for (size_t i = 0; i < n; i += 16) {
        RngBlock blk = philox4x32_10(SHAPES_SEED, stream, NOISE_COUNTER + i / 16);
        for (size_t k = 0; k < 16 && i + k < n; k++) {
            unsigned byte = (blk.v[k / 4] >> (8 * (k % 4))) & 0xFFu;
            int d = ((int)(byte & 15u) + (int)(byte >> 4) - 15) * amplitude / 8; // triangular
            uint8_t *px = cv->rgb + (i + k) * 3;
            for (int ch = 0; ch < 3; ch++) px[ch] = (uint8_t)clamp255(px[ch] + d);
        }
    }
}

// The outline of a shape of class cls: circumradius r and centre in 1/16 px, rotated by angle;
// circles get `circle_verts` vertices. Each vertex is rounded to the grid right after its sin/cos.
int shapes_outline(int cls, Pt centre, int32_t r, double angle, int circle_verts, Pt *out) {
    static const int CORNERS[N_CLASSES] = {0, 3, 4, 6, 10};
    int n = cls == 0 ? circle_verts : CORNERS[cls];
    for (int i = 0; i < n; i++) {
        double a = angle + TWO_PI * i / n, rr = (cls == 4 && (i & 1)) ? r * STAR_INNER : r;
        out[i] = offset(centre, rr * cos(a), rr * sin(a));
    }
    return n;
}

// Sutherland-Hodgman against the frame [0, w] x [0, h]: the polygon in pixels (float xy pairs).
// The frame is convex, so a star's clip can only gain zero-width slivers along the border.
int shapes_clip_to_frame(const Pt *p, int n, int w, int h, float *out) {
    double a[2 * CLIP_CAP], b[2 * CLIP_CAP];
    for (int i = 0; i < n; i++) a[2 * i] = p[i].x / (double)Q, a[2 * i + 1] = p[i].y / (double)Q;
    double *src = a, *dst = b;
    for (int edge = 0; edge < 4 && n > 0; edge++) {
        int axis = edge & 1;                                      // 0: x, 1: y
        double limit = edge < 2 ? 0.0 : (axis ? h : w), sign = edge < 2 ? 1.0 : -1.0;
        int m = 0;
        for (int i = 0; i < n; i++) {
            const double *cur = src + 2 * i, *prev = src + 2 * ((i + n - 1) % n);
            double dc = sign * (cur[axis] - limit), dp = sign * (prev[axis] - limit);
            if ((dc >= 0) != (dp >= 0)) {
                // Written as prev + (product) / difference so that no compiler fuses it into an
                // fma, which would round differently.
                dst[2 * m + axis] = limit;
                dst[2 * m + 1 - axis] = prev[1 - axis] + dp * (cur[1 - axis] - prev[1 - axis]) / (dp - dc);
                m++;
            }
            if (dc >= 0) dst[2 * m] = cur[0], dst[2 * m + 1] = cur[1], m++;
        }
        double *t = src;
        src = dst;
        dst = t;
        n = m;
    }
    int m = 0;
    for (int i = 0; i < n; i++) { // drop repeated points left where the polygon met a corner
        float x = (float)src[2 * i], y = (float)src[2 * i + 1];
        if (m > 0 && out[2 * m - 2] == x && out[2 * m - 1] == y) continue;
        out[2 * m] = x, out[2 * m + 1] = y, m++;
    }
    if (m > 1 && out[0] == out[2 * m - 2] && out[1] == out[2 * m - 1]) m--;
    return m;
}
