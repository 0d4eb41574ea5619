// What the files of the built-in datasets share (shapes.c: the datasets and their files;
// shapes_draw.c: rasterising and painting on a canvas; shapes_scene.c: what each image shows).
// Internal to them. Coordinates are integers in 1/16 px (Q) and draws come from Philox cursors,
// so that every image is the same on every machine (see shapes.c).
#ifndef YOLO_DATA_SHAPES_INTERNAL_H
#define YOLO_DATA_SHAPES_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"

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

// ---- draws ----------------------------------------------------------------------------------

static inline uint32_t draw_u32(RngCursor *c) { return rng_u32(c->seed, c->stream, c->next++); }
static inline int draw_int(RngCursor *c, int lo, int hi) { // inclusive
    return lo + (int)(draw_u32(c) % (uint32_t)(hi - lo + 1));
}
static inline double draw_unit(RngCursor *c) { return rng_next_uniform(c); }

// A coordinate in pixels onto the 1/16 px grid.
static inline int32_t to_grid(double px) { return (int32_t)floor(px * Q + 0.5); }

// Uniform in [lo, hi) pixels, on the grid. Written with no a + b * c that a compiler could fuse
// into an fma, which rounds differently.
static inline int32_t draw_coord(RngCursor *c, double lo, double hi) {
    return to_grid(lo) + (int32_t)floor((hi - lo) * Q * draw_unit(c));
}

// A quarter of the files are PNG so that both decoders are exercised.
static inline bool as_png(uint32_t index) { return index % 4 == 1; }

static inline uint64_t image_stream(bool classify, int split, uint32_t index) {
    return rng_stream(RNG_DATASET, (uint32_t)(classify * 2 + split), index);
}

// ---- canvas ---------------------------------------------------------------------------------

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
static inline Pt offset(Pt p, double dx, double dy) {
    return (Pt){p.x + (int32_t)floor(dx + 0.5), p.y + (int32_t)floor(dy + 0.5)};
}

// Uniform in [x0, x1) x [y0, y1) pixels, on the grid. x is drawn before y in two statements: C
// leaves the order of evaluation inside one expression (or initialiser list) unspecified, and a
// compiler that drew y first would draw another image. Callers keep to one draw per expression.
static inline Pt draw_point(RngCursor *c, double x0, double x1, double y0, double y1) {
    Pt p;
    p.x = draw_coord(c, x0, x1);
    p.y = draw_coord(c, y0, y1);
    return p;
}

static inline int clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

// How a shape is filled: a colour shaded linearly across it, as if lit from one side.
typedef struct {
    Rgb colour;
    int shade;        // -16..16: change at one radius from the centre along (ux, uy)
    int ux, uy;       // direction, length ~16
    int cx, cy, r;    // centre and radius in pixels
} Paint;

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

// ---- shapes_draw.c --------------------------------------------------------------------------

// Coverage of the polygon p over the image into cv->cov; how many pixels are at least half covered.
int shapes_rasterise(Canvas *cv, const Pt *p, int n);
// Mixes the paint into the image by the coverage in cv->cov; with owner_id > 0 the pixels it
// holds become that object's.
void shapes_paint(Canvas *cv, const Paint *p, uint8_t owner_id);
// The mean colour of the pixels the last rasterised shape holds.
Rgb shapes_mean_under(const Canvas *cv);
int shapes_colour_distance(Rgb a, Rgb b);
// A colour that stands out from what the last rasterised shape covers and from `avoid`.
bool shapes_draw_contrasting_colour(const Canvas *cv, RngCursor *c, const Rgb *avoid, int n_avoid, Rgb *out);
Paint shapes_draw_paint(RngCursor *c, Rgb colour, Pt centre, int32_t radius);
void shapes_paint_background(Canvas *cv, RngCursor *c);
void shapes_paint_clutter(Canvas *cv, RngCursor *c, int n_lines, int n_crosses);
void shapes_add_noise(Canvas *cv, uint64_t stream, int amplitude);
// The outline of a shape of class cls (circles get circle_verts vertices); returns the count.
int shapes_outline(int cls, Pt centre, int32_t r, double angle, int circle_verts, Pt *out);
// The polygon clipped to the frame [0, w] x [0, h], in pixels (float xy pairs); returns the count.
int shapes_clip_to_frame(const Pt *p, int n, int w, int h, float *out);

// ---- shapes_scene.c -------------------------------------------------------------------------

// Scene `index` of a split (detect and segment images) into cv, its objects into s.
void shapes_render_scene(Canvas *cv, int split, uint32_t index, Scene *s);
// Image i of class cls of a split (classify images).
void shapes_render_classify(Canvas *cv, int split, int cls, uint32_t i);

#endif
