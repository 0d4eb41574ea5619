// What each image of the built-in datasets shows (shapes_internal.h): detect and segment scenes
// of up to 8 objects with their visible boxes and outlines, and classify images of one shape.
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "data/polygon.h"
#include "data/shapes_internal.h"

// ---- detect and segment scenes --------------------------------------------------------------

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
        o.n_outline = shapes_outline(o.cls, centre, r, angle, CIRCLE_LABEL_VERTS, o.outline);
        float inside[2 * CLIP_CAP], whole[2 * MAX_VERTS];
        int n_inside = shapes_clip_to_frame(o.outline, o.n_outline, cv->w, cv->h, inside);
        for (int i = 0; i < o.n_outline; i++) {
            whole[2 * i] = (float)o.outline[i].x;
            whole[2 * i + 1] = (float)o.outline[i].y;
        }
        double area_inside = n_inside >= 3 ? fabs(polygon_area2(inside, n_inside)) * Q * Q : 0.0;
        if (area_inside < 0.5 * fabs(polygon_area2(whole, o.n_outline))) continue;

        Pt drawn[MAX_VERTS];
        int n_drawn = shapes_outline(o.cls, centre, r, angle, CIRCLE_DRAW_VERTS, drawn);
        o.full = shapes_rasterise(cv, drawn, n_drawn);
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
        if (hides || !shapes_draw_contrasting_colour(cv, c, overlapped, n_overlapped, &o.colour)) continue;

        Paint p = shapes_draw_paint(c, o.colour, centre, r);
        shapes_paint(cv, &p, (uint8_t)(s->n + 1));
        for (int j = 0; j < s->n; j++) s->obj[j].visible -= lost[j];
        o.visible = o.full;
        s->obj[s->n++] = o;
        return;
    }
}

// Scene `index` of a split: 256..384 px on the long side, aspect ratios 1:1 to about 16:9 either
// way; a background, 0..4 lines and 0..1 plus signs, 1..8 objects (none in every 20th image), and
// noise on most JPEGs (PNGs stay clean: noise would make them several times larger).
void shapes_render_scene(Canvas *cv, int split, uint32_t index, Scene *s) {
    uint64_t stream = image_stream(false, split, index);
    RngCursor c = rng_cursor(SHAPES_SEED, stream);
    int long_side = draw_int(&c, 256, MAX_SIDE);
    int short_side = draw_int(&c, 0, 9) < 3 ? long_side : long_side * draw_int(&c, 56, 99) / 100;
    bool landscape = draw_u32(&c) & 1;
    cv->w = landscape ? long_side : short_side;
    cv->h = landscape ? short_side : long_side;
    memset(cv->owner, 0, (size_t)cv->w * (size_t)cv->h);
    shapes_paint_background(cv, &c);
    int n_lines = draw_int(&c, 0, 4);
    int n_crosses = draw_int(&c, 0, 3) / 2;
    shapes_paint_clutter(cv, &c, n_lines, n_crosses);
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
    if (!as_png(index) && draw_int(&c, 0, 9) < 6) shapes_add_noise(cv, stream, draw_int(&c, 2, 8));
}

// ---- classify images ------------------------------------------------------------------------

// Image i of class cls: 104..152 px wide, one shape of that class covering most of it, drawn
// over 0..3 small shapes of any class.
void shapes_render_classify(Canvas *cv, int split, int cls, uint32_t i) {
    uint32_t index = i * N_CLASSES + (uint32_t)cls;
    uint64_t stream = image_stream(true, split, index);
    RngCursor c = rng_cursor(SHAPES_SEED, stream);
    cv->w = draw_int(&c, 104, 152);
    cv->h = cv->w * draw_int(&c, 85, 118) / 100;
    double side = cv->w < cv->h ? cv->w : cv->h;
    shapes_paint_background(cv, &c);
    int n_lines = draw_int(&c, 0, 2);
    shapes_paint_clutter(cv, &c, n_lines, 0);
    Pt drawn[MAX_VERTS];
    int n_small = draw_int(&c, 0, 3);
    for (int k = 0; k < n_small; k++) {
        int small_cls = draw_int(&c, 0, N_CLASSES - 1);
        int32_t r = draw_coord(&c, 4.0, 0.1 * side);
        Pt centre = draw_point(&c, 0, cv->w, 0, cv->h);
        int n = shapes_outline(small_cls, centre, r, TWO_PI * draw_unit(&c), CIRCLE_DRAW_VERTS, drawn);
        Rgb colour;
        if (shapes_rasterise(cv, drawn, n) == 0 || !shapes_draw_contrasting_colour(cv, &c, NULL, 0, &colour)) continue;
        Paint p = shapes_draw_paint(&c, colour, centre, r);
        shapes_paint(cv, &p, 0);
    }
    int32_t r = draw_coord(&c, 0.225 * side, 0.4 * side);
    Pt centre = draw_point(&c, 0.42 * cv->w, 0.58 * cv->w, 0.42 * cv->h, 0.58 * cv->h);
    int n = shapes_outline(cls, centre, r, TWO_PI * draw_unit(&c), CIRCLE_DRAW_VERTS, drawn);
    shapes_rasterise(cv, drawn, n);
    Rgb colour;
    if (!shapes_draw_contrasting_colour(cv, &c, NULL, 0, &colour)) {
        // Black or white, whichever is farther from what lies below: the class shape must show.
        Rgb under = shapes_mean_under(cv), black = {{20, 20, 20}}, white = {{235, 235, 235}};
        colour = shapes_colour_distance(black, under) > shapes_colour_distance(white, under) ? black : white;
    }
    Paint p = shapes_draw_paint(&c, colour, centre, r);
    shapes_paint(cv, &p, 0);
    if (!as_png(index) && draw_int(&c, 0, 9) < 6) shapes_add_noise(cv, stream, draw_int(&c, 2, 8));
}
