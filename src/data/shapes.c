// The built-in synthetic datasets (see shapes.h).
//
// Every image is a pure function of (what is drawn, split, index): its draws come from the Philox
// stream (RNG_DATASET, kind * 2 + split, index), and everything that decides a pixel after the
// draws is integer arithmetic. Vertices are rounded to a 1/16 px grid right after the one libm
// call (sin/cos, pow) that made them, so a libm that differs in the last bit elsewhere still
// gives the same vertex; rasterisation then works on those integers only.
#define _XOPEN_SOURCE 700 // nftw, to remove temporary folders
#include "data/shapes.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/image.h"
#include "data/polygon.h"

enum {
    N_CLASSES = 5,
    Q = 16,                  // vertex grid: 1/16 px
    SS = 4,                  // coverage samples per pixel and axis (16 per pixel)
    FULL_COVER = SS * SS,
    HALF_COVER = FULL_COVER / 2, // a pixel belongs to the topmost shape covering half of it
    MAX_SIDE = 384,          // largest image side drawn
    MAX_OBJECTS = 8,
    CIRCLE_DRAW_VERTS = 64,  // the polygon strays < 0.2 px from the true circle at any radius here
    CIRCLE_LABEL_VERTS = 32, // segment labels: within 0.5% of the circle's area, short label rows
    MAX_VERTS = 64,
    CLIP_CAP = 2 * MAX_VERTS + 8, // a frame clip adds at most one vertex per edge crossing
    MIN_PIXELS = 30,         // smaller visible objects are not drawn: nothing left to recognise
    PLACE_TRIES = 20,
    COLOUR_TRIES = 8,
    MIN_CONTRAST = 100,      // sum over channels of |colour - what it covers|
    JPEG_QUALITY = 90,
};

static const uint64_t SHAPES_SEED = 0x5348415045533031ull; // "SHAPES01"
// Noise reads whole Philox blocks at counters far above any per-image draw.
static const uint64_t NOISE_COUNTER = 1ull << 40;
static const double TWO_PI = 6.283185307179586;
static const double STAR_INNER = 0.45; // a fatter star than the pentagram's 0.38: tips survive at 12 px

static const char *const CLASS_NAMES[N_CLASSES] = {"circle", "triangle", "square", "hexagon", "star"};

typedef enum { KIND_DETECT, KIND_SEGMENT, KIND_CLASSIFY } Kind;

typedef struct {
    const char *name;
    Kind kind;
    int n[2]; // images in train and val; classify: per class
} Builtin;

static const Builtin BUILTINS[] = {
    {"shapes8", KIND_DETECT, {4, 4}},       {"shapes", KIND_DETECT, {400, 100}},
    {"shapes8-seg", KIND_SEGMENT, {4, 4}},  {"shapes-seg", KIND_SEGMENT, {400, 100}},
    {"shapes8-cls", KIND_CLASSIFY, {2, 1}}, {"shapes-cls", KIND_CLASSIFY, {80, 20}},
};
static const char *const SPLIT_NAMES[2] = {"train", "val"};

static const Builtin *find_builtin(const char *data) {
    if (!data) return NULL;
    size_t len = strlen(data);
    if (len > 5 && strcmp(data + len - 5, ".yaml") == 0) len -= 5;
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
        if (strlen(BUILTINS[i].name) == len && strncmp(BUILTINS[i].name, data, len) == 0) return &BUILTINS[i];
    return NULL;
}

bool shapes_is_builtin(const char *data) { return find_builtin(data) != NULL; }

// ---- draws ----------------------------------------------------------------------------------

static uint32_t draw_u32(RngCursor *c) { return rng_u32(c->seed, c->stream, c->next++); }
static int draw_int(RngCursor *c, int lo, int hi) { // inclusive
    return lo + (int)(draw_u32(c) % (uint32_t)(hi - lo + 1));
}
static double draw_unit(RngCursor *c) { return rng_next_uniform(c); }

// A coordinate in pixels onto the 1/16 px grid.
static int32_t to_grid(double px) { return (int32_t)floor(px * Q + 0.5); }

// Uniform in [lo, hi) pixels, on the grid. Written with no a + b * c that a compiler could fuse
// into an fma, which rounds differently.
static int32_t draw_coord(RngCursor *c, double lo, double hi) {
    return to_grid(lo) + (int32_t)floor((hi - lo) * Q * draw_unit(c));
}

// A quarter of the files are PNG so that both decoders are exercised.
static bool as_png(uint32_t index) { return index % 4 == 1; }

static uint64_t image_stream(bool classify, int split, uint32_t index) {
    return rng_stream(RNG_DATASET, (uint32_t)(classify * 2 + split), index);
}

// ---- drawing --------------------------------------------------------------------------------

typedef struct {
    int32_t x, y; // 1/16 px
} Pt;

typedef struct {
    uint8_t c[3];
} Rgb;

typedef struct {
    int w, h;
    uint8_t *rgb;      // [h][w][3]
    uint8_t *owner;    // [h][w]: topmost object + 1 holding the pixel, 0 for none
    uint8_t *cov;      // [bh][bw]: coverage 0..16 of the shape last rasterised
    int bx, by, bw, bh; // where cov lies in the image
} Canvas;

// p moved by (dx, dy) in 1/16 px, rounded to the grid.
static Pt offset(Pt p, double dx, double dy) {
    return (Pt){p.x + (int32_t)floor(dx + 0.5), p.y + (int32_t)floor(dy + 0.5)};
}

// Uniform in [x0, x1) x [y0, y1) pixels, on the grid. x is drawn before y in two statements: C
// leaves the order of evaluation inside one expression (or initialiser list) unspecified, and a
// compiler that drew y first would draw another image. Callers keep to one draw per expression.
static Pt draw_point(RngCursor *c, double x0, double x1, double y0, double y1) {
    Pt p;
    p.x = draw_coord(c, x0, x1);
    p.y = draw_coord(c, y0, y1);
    return p;
}

static int clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

static int64_t floor_div(int64_t a, int64_t b) {
    if (b < 0) a = -a, b = -b;
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Coverage of the polygon p over the image, counted on a 4x4 grid of sample points per pixel
// (even-odd rule, crossings rounded down to 1/256 px in integers), into cv->cov over the box that
// holds the polygon. Returns how many pixels are at least half covered.
static int rasterise(Canvas *cv, const Pt *p, int n) {
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

// How a shape is filled: a colour shaded linearly across it, as if lit from one side.
typedef struct {
    Rgb colour;
    int shade;        // -16..16: change at one radius from the centre along (ux, uy)
    int ux, uy;       // direction, length ~16
    int cx, cy, r;    // centre and radius in pixels
} Paint;

static const int DIRECTIONS[8][2] = {{16, 0}, {11, 11}, {0, 16}, {-11, 11}, {-16, 0}, {-11, -11}, {0, -16}, {11, -11}};

// Mixes the paint into the image by the coverage in cv->cov; with owner_id > 0 the pixels it
// holds (half covered or more) become that object's.
static void paint(Canvas *cv, const Paint *p, uint8_t owner_id) {
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
static Rgb mean_under(const Canvas *cv) {
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

static int distance(Rgb a, Rgb b) {
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
static bool draw_contrasting_colour(const Canvas *cv, RngCursor *c, const Rgb *avoid, int n_avoid, Rgb *out) {
    Rgb under = mean_under(cv);
    for (int t = 0; t < COLOUR_TRIES; t++) {
        Rgb col = draw_colour(c);
        bool ok = distance(col, under) >= MIN_CONTRAST;
        for (int i = 0; i < n_avoid && ok; i++) ok = distance(col, avoid[i]) >= MIN_CONTRAST;
        if (ok) {
            *out = col;
            return true;
        }
    }
    return false;
}

static Paint draw_paint(RngCursor *c, Rgb colour, Pt centre, int32_t radius) {
    const int *d = DIRECTIONS[draw_int(c, 0, 7)];
    int r = radius / Q;
    return (Paint){.colour = colour, .shade = draw_int(c, -16, 16), .ux = d[0], .uy = d[1],
                   .cx = centre.x / Q, .cy = centre.y / Q, .r = r > 0 ? r : 1};
}

// Flat (40%) or a linear gradient between two colours in any direction.
static void paint_background(Canvas *cv, RngCursor *c) {
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
static void paint_clutter(Canvas *cv, RngCursor *c, int n_lines, int n_crosses) {
    for (int i = 0; i < n_crosses; i++) {
        Pt centre = draw_point(c, 0, cv->w, 0, cv->h), outline[12];
        int32_t arm = draw_coord(c, 6.0, 6.0 + 0.1 * (cv->w < cv->h ? cv->w : cv->h));
        cross_outline(centre, arm, TWO_PI * draw_unit(c), outline);
        Rgb colour = draw_colour(c);
        rasterise(cv, outline, 12);
        paint(cv, &(Paint){.colour = colour, .r = 1}, 0);
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
        rasterise(cv, quad, 4);
        paint(cv, &(Paint){.colour = colour, .r = 1}, 0);
    }
}

// Sensor-like luminance noise of about +-amplitude * 2 grey levels, from whole Philox blocks
// (16 pixels a block) rather than one draw per pixel, for speed.
static void add_noise(Canvas *cv, uint64_t stream, int amplitude) {
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
static int shape_outline(int cls, Pt centre, int32_t r, double angle, int circle_verts, Pt *out) {
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
static int clip_to_frame(const Pt *p, int n, int w, int h, float *out) {
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

// ---- detect and segment scenes --------------------------------------------------------------

typedef struct {
    int cls;
    Rgb colour;
    Pt centre;
    int32_t r;                // circumradius, 1/16 px
    int full, visible;        // pixels held when drawn, and still on top
    Pt outline[MAX_VERTS];    // the label polygon (circles as 32-gons)
    int n_outline;
    int x0, y0, x1, y1;       // visible box, pixel edges
} Object;

typedef struct {
    int n;
    Object obj[MAX_OBJECTS];
} Scene;

// Adds one object on top of the scene, or none after PLACE_TRIES rejected draws: less than half
// of it inside the frame, too few pixels, hiding more than 40% of an object below, or no colour
// that stands out from what it covers.
static void place_object(Canvas *cv, RngCursor *c, Scene *s) {
    double d_min = 12.0, d_max = 0.55 * (cv->w < cv->h ? cv->w : cv->h);
    for (int attempt = 0; attempt < PLACE_TRIES; attempt++) {
        Object o = {.cls = draw_int(c, 0, N_CLASSES - 1)};
        int32_t r = to_grid(0.5 * d_min * pow(d_max / d_min, draw_unit(c))); // log-uniform size
        double rp = (double)r / Q;
        Pt centre = draw_point(c, -0.5 * rp, cv->w + 0.5 * rp, -0.5 * rp, cv->h + 0.5 * rp);
        if (s->n > 0 && draw_int(c, 0, 2) == 0) {
            // A third of the objects go next to one already there, so that overlaps are common.
            const Object *near = &s->obj[draw_int(c, 0, s->n - 1)];
            double a = TWO_PI * draw_unit(c);
            double dist = (near->r + r) * (0.5 + 0.5 * draw_unit(c));
            centre = offset(near->centre, dist * cos(a), dist * sin(a));
        }
        double angle = TWO_PI * draw_unit(c);
        o.centre = centre;
        o.r = r;
        o.n_outline = shape_outline(o.cls, centre, r, angle, CIRCLE_LABEL_VERTS, o.outline);
        float inside[2 * CLIP_CAP], whole[2 * MAX_VERTS];
        int n_inside = clip_to_frame(o.outline, o.n_outline, cv->w, cv->h, inside);
        for (int i = 0; i < o.n_outline; i++) {
            whole[2 * i] = (float)o.outline[i].x;
            whole[2 * i + 1] = (float)o.outline[i].y;
        }
        double area_inside = n_inside >= 3 ? fabs(polygon_area2(inside, n_inside)) * Q * Q : 0.0;
        if (area_inside < 0.5 * fabs(polygon_area2(whole, o.n_outline))) continue;

        Pt drawn[MAX_VERTS];
        int n_drawn = shape_outline(o.cls, centre, r, angle, CIRCLE_DRAW_VERTS, drawn);
        o.full = rasterise(cv, drawn, n_drawn);
        if (o.full < MIN_PIXELS) continue;
        // What the new object would take from each one below it.
        int lost[MAX_OBJECTS] = {0};
        for (int y = 0; y < cv->bh; y++)
            for (int x = 0; x < cv->bw; x++) {
                if (cv->cov[(size_t)y * (size_t)cv->bw + (size_t)x] < HALF_COVER) continue;
                int id = cv->owner[(size_t)(cv->by + y) * (size_t)cv->w + (size_t)(cv->bx + x)];
                if (id) lost[id - 1]++;
            }
        bool hides = false;
        Rgb overlapped[MAX_OBJECTS];
        int n_overlapped = 0;
        for (int j = 0; j < s->n; j++) {
            if (!lost[j]) continue;
            hides |= 5 * (s->obj[j].visible - lost[j]) < 3 * s->obj[j].full;
            overlapped[n_overlapped++] = s->obj[j].colour;
        }
        if (hides || !draw_contrasting_colour(cv, c, overlapped, n_overlapped, &o.colour)) continue;

        Paint p = draw_paint(c, o.colour, centre, r);
        paint(cv, &p, (uint8_t)(s->n + 1));
        for (int j = 0; j < s->n; j++) s->obj[j].visible -= lost[j];
        o.visible = o.full;
        s->obj[s->n++] = o;
        return;
    }
}

// Scene `index` of a split: 256..384 px on the long side, aspect ratios 1:1 to about 16:9 either
// way; a background, 0..4 lines and 0..1 plus signs, 1..8 objects (none in every 20th image), and
// noise on most JPEGs (PNGs stay clean: noise would make them several times larger).
static void render_scene(Canvas *cv, int split, uint32_t index, Scene *s) {
    uint64_t stream = image_stream(false, split, index);
    RngCursor c = rng_cursor(SHAPES_SEED, stream);
    int long_side = draw_int(&c, 256, MAX_SIDE);
    int short_side = draw_int(&c, 0, 9) < 3 ? long_side : long_side * draw_int(&c, 56, 99) / 100;
    bool landscape = draw_u32(&c) & 1;
    cv->w = landscape ? long_side : short_side;
    cv->h = landscape ? short_side : long_side;
    memset(cv->owner, 0, (size_t)cv->w * (size_t)cv->h);
    paint_background(cv, &c);
    int n_lines = draw_int(&c, 0, 4);
    int n_crosses = draw_int(&c, 0, 3) / 2;
    paint_clutter(cv, &c, n_lines, n_crosses);
    int n = 1 + draw_int(&c, 0, 3);
    n += draw_int(&c, 0, 4);
    if (index % 20 == 19) n = 0;
    s->n = 0;
    for (int k = 0; k < n; k++) place_object(cv, &c, s);
    for (int k = 0; k < s->n; k++) {
        Object *o = &s->obj[k];
        o->x0 = cv->w, o->y0 = cv->h, o->x1 = o->y1 = 0;
    }
    for (int y = 0; y < cv->h; y++)
        for (int x = 0; x < cv->w; x++) {
            int id = cv->owner[(size_t)y * (size_t)cv->w + (size_t)x];
            if (!id) continue;
            Object *o = &s->obj[id - 1];
            o->x0 = x < o->x0 ? x : o->x0;
            o->y0 = y < o->y0 ? y : o->y0;
            o->x1 = x + 1 > o->x1 ? x + 1 : o->x1;
            o->y1 = y + 1 > o->y1 ? y + 1 : o->y1;
        }
    if (!as_png(index) && draw_int(&c, 0, 9) < 6) add_noise(cv, stream, draw_int(&c, 2, 8));
}

// ---- classify images ------------------------------------------------------------------------

// Image i of class cls: 104..152 px wide, one shape of that class covering most of it, drawn
// over 0..3 small shapes of any class.
static void render_classify(Canvas *cv, int split, int cls, uint32_t i) {
    uint32_t index = i * N_CLASSES + (uint32_t)cls;
    uint64_t stream = image_stream(true, split, index);
    RngCursor c = rng_cursor(SHAPES_SEED, stream);
    cv->w = draw_int(&c, 104, 152);
    cv->h = cv->w * draw_int(&c, 85, 118) / 100;
    double side = cv->w < cv->h ? cv->w : cv->h;
    paint_background(cv, &c);
    int n_lines = draw_int(&c, 0, 2);
    paint_clutter(cv, &c, n_lines, 0);
    Pt drawn[MAX_VERTS];
    int n_small = draw_int(&c, 0, 3);
    for (int k = 0; k < n_small; k++) {
        int small_cls = draw_int(&c, 0, N_CLASSES - 1);
        int32_t r = draw_coord(&c, 4.0, 0.1 * side);
        Pt centre = draw_point(&c, 0, cv->w, 0, cv->h);
        int n = shape_outline(small_cls, centre, r, TWO_PI * draw_unit(&c), CIRCLE_DRAW_VERTS, drawn);
        Rgb colour;
        if (rasterise(cv, drawn, n) == 0 || !draw_contrasting_colour(cv, &c, NULL, 0, &colour)) continue;
        Paint p = draw_paint(&c, colour, centre, r);
        paint(cv, &p, 0);
    }
    int32_t r = draw_coord(&c, 0.225 * side, 0.4 * side);
    Pt centre = draw_point(&c, 0.42 * cv->w, 0.58 * cv->w, 0.42 * cv->h, 0.58 * cv->h);
    int n = shape_outline(cls, centre, r, TWO_PI * draw_unit(&c), CIRCLE_DRAW_VERTS, drawn);
    rasterise(cv, drawn, n);
    Rgb colour;
    if (!draw_contrasting_colour(cv, &c, NULL, 0, &colour)) {
        // Black or white, whichever is farther from what lies below: the class shape must show.
        Rgb under = mean_under(cv), black = {{20, 20, 20}}, white = {{235, 235, 235}};
        colour = distance(black, under) > distance(white, under) ? black : white;
    }
    Paint p = draw_paint(&c, colour, centre, r);
    paint(cv, &p, 0);
    if (!as_png(index) && draw_int(&c, 0, 9) < 6) add_noise(cv, stream, draw_int(&c, 2, 8));
}

// ---- files ----------------------------------------------------------------------------------

static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return yolo_fail("path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return yolo_fail("cannot create folder %s: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0') return 0;
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0; // keep going: remove as much as possible
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int save_image(const Canvas *cv, const char *path_without_ext, bool png) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s.%s", path_without_ext, png ? "png" : "jpg") >= (int)sizeof path)
        return yolo_fail("path too long: %s", path_without_ext);
    Image img = {.w = cv->w, .h = cv->h, .rgb = cv->rgb};
    return png ? image_write_png(path, &img) : image_write_jpeg(path, &img, JPEG_QUALITY);
}

// Detect rows are visible boxes; segment rows the outline clipped to the frame.
static int save_labels(const char *path, const Scene *s, int w, int h, bool segment) {
    FILE *f = fopen(path, "w");
    if (!f) return yolo_fail("cannot write %s: %s", path, strerror(errno));
    for (int k = 0; k < s->n; k++) {
        const Object *o = &s->obj[k];
        if (!segment) {
            fprintf(f, "%d %.6f %.6f %.6f %.6f\n", o->cls, (o->x0 + o->x1) / (2.0 * w), (o->y0 + o->y1) / (2.0 * h),
                    (double)(o->x1 - o->x0) / w, (double)(o->y1 - o->y0) / h);
            continue;
        }
        float xy[2 * CLIP_CAP];
        int n = clip_to_frame(o->outline, o->n_outline, w, h, xy);
        fprintf(f, "%d", o->cls);
        for (int i = 0; i < n; i++) fprintf(f, " %.6f %.6f", xy[2 * i] / (double)w, xy[2 * i + 1] / (double)h);
        fputc('\n', f);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) return yolo_fail("cannot write %s", path);
    return 0;
}

static int generate_scenes(Canvas *cv, const Builtin *b, const char *dir) {
    Scene scene;
    char images[4096], labels[4096], image[4096 + 16], label[4096 + 16];
    for (int split = 0; split < 2; split++) {
        if (snprintf(images, sizeof images, "%s/images/%s", dir, SPLIT_NAMES[split]) >= (int)sizeof images ||
            snprintf(labels, sizeof labels, "%s/labels/%s", dir, SPLIT_NAMES[split]) >= (int)sizeof labels)
            return yolo_fail("path too long: %s", dir);
        TRY(make_dirs(images));
        TRY(make_dirs(labels));
        for (uint32_t i = 0; i < (uint32_t)b->n[split]; i++) {
            render_scene(cv, split, i, &scene);
            snprintf(image, sizeof image, "%s/%05u", images, (unsigned)i);
            snprintf(label, sizeof label, "%s/%05u.txt", labels, (unsigned)i);
            TRY(save_image(cv, image, as_png(i)));
            TRY(save_labels(label, &scene, cv->w, cv->h, b->kind == KIND_SEGMENT));
        }
    }
    return 0;
}

static int generate_classify(Canvas *cv, const Builtin *b, const char *dir) {
    char folder[4096], image[4096 + 32];
    for (int split = 0; split < 2; split++)
        for (int cls = 0; cls < N_CLASSES; cls++) {
            int len = snprintf(folder, sizeof folder, "%s/%s/%s", dir, SPLIT_NAMES[split], CLASS_NAMES[cls]);
            if (len >= (int)sizeof folder)
                return yolo_fail("path too long: %s", dir);
            TRY(make_dirs(folder));
            for (uint32_t i = 0; i < (uint32_t)b->n[split]; i++) {
                render_classify(cv, split, cls, i);
                snprintf(image, sizeof image, "%s/%s_%04u", folder, CLASS_NAMES[cls], (unsigned)i);
                TRY(save_image(cv, image, as_png(i * N_CLASSES + (uint32_t)cls)));
            }
        }
    return 0;
}

// Removes "<base>.tmp-<pid>" folders in `parent` left by processes that no longer run (or by an
// earlier process that had this one's pid); those of live processes are theirs to finish. The pid
// test holds for processes of this machine, which is where datasets are generated.
static void remove_stale_temps(const char *parent, const char *base) {
    DIR *d = opendir(parent);
    if (!d) return;
    size_t len = strlen(base);
    char path[8192];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strncmp(name, base, len) != 0 || strncmp(name + len, ".tmp-", 5) != 0) continue;
        char *end;
        long pid = strtol(name + len + 5, &end, 10);
        if (end == name + len + 5 || *end != '\0' || pid <= 0 || pid > INT_MAX) continue;
        bool stale = pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        if (stale && snprintf(path, sizeof path, "%s/%s", parent, name) < (int)sizeof path) remove_tree(path);
    }
    closedir(d);
}

int shapes_generate(const char *data, const char *root) {
    const Builtin *b = find_builtin(data);
    if (!b)
        return yolo_fail("\"%s\" is not a built-in dataset (shapes8, shapes, shapes8-seg, shapes-seg, shapes8-cls, "
                         "shapes-cls)", data ? data : "");
    char dir[4096], parent[4096], tmp[4096 + 32];
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/') len--; // "datasets/shapes/" names the same folder
    if (len == 0 || len >= sizeof dir) return yolo_fail("bad dataset folder \"%s\"", root);
    memcpy(dir, root, len);
    dir[len] = '\0';
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        return yolo_fail("%s is not a folder: move it away so that %s can be generated there", dir, b->name);
    }
    if (errno != ENOENT) return yolo_fail("cannot inspect %s: %s", dir, strerror(errno));

    const char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (!slash) snprintf(parent, sizeof parent, ".");
    else snprintf(parent, sizeof parent, "%.*s", slash == dir ? 1 : (int)(slash - dir), dir);
    TRY(make_dirs(parent));
    remove_stale_temps(parent, base);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
    if (mkdir(tmp, 0777) != 0) return yolo_fail("cannot create folder %s: %s", tmp, strerror(errno));

    size_t px = (size_t)MAX_SIDE * MAX_SIDE;
    Canvas cv = {.rgb = malloc(px * 3), .owner = malloc(px), .cov = malloc(px)};
    int rc = cv.rgb && cv.owner && cv.cov ? 0 : yolo_fail("out of memory generating %s", b->name);
    if (rc == 0) rc = b->kind == KIND_CLASSIFY ? generate_classify(&cv, b, tmp) : generate_scenes(&cv, b, tmp);
    free(cv.rgb);
    free(cv.owner);
    free(cv.cov);
    if (rc == 0 && rename(tmp, dir) != 0) {
        int e = errno;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) { // another process finished it first
            remove_tree(tmp);
            return 0;
        }
        rc = yolo_fail("cannot rename %s to %s: %s", tmp, dir, strerror(e));
    }
    if (rc != 0) {
        remove_tree(tmp);
        return yolo_fail("generating dataset %s in %s", b->name, dir);
    }
    return 0;
}
