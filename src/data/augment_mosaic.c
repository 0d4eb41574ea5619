// Mosaic of four images (spec §8, Ultralytics' Mosaic._mosaic4).
#include <string.h>

#include "core/status.h"
#include "data/augment.h"

int augment_mosaic4(const Sample parts[4], int imgsz, RngCursor *rng, Sample *out) {
    // int(U(s/2, 3s/2)): the centre stays in the middle half so every image shows, y first as in
    // Ultralytics' `yc, xc = ...`.
    double lo = imgsz / 2.0, hi = 1.5 * imgsz;
    int yc = (int)(lo + (hi - lo) * rng_next_uniform(rng));
    int xc = (int)(lo + (hi - lo) * rng_next_uniform(rng));
    return augment_mosaic4_at(parts, imgsz, xc, yc, out);
}

// Part i's rectangle on the canvas [x1a, x2a) x [y1a, y2a) and its source corner (x1b, y1b):
// part 0 ends at the centre (top left), 1 starts at xc (top right), 2 starts at yc (bottom
// left), 3 starts at both (bottom right). Parts are cropped at the canvas edge, keeping the
// side that touches the centre.
typedef struct {
    int x1a, y1a, x2a, y2a, x1b, y1b;
} Placement;

static Placement place(int i, int w, int h, int xc, int yc, int side) {
    Placement p;
    bool left = i == 0 || i == 2, top = i == 0 || i == 1;
    if (left) {
        p.x1a = xc - w > 0 ? xc - w : 0;
        p.x2a = xc;
        p.x1b = w - (p.x2a - p.x1a);
    } else {
        p.x1a = xc;
        p.x2a = xc + w < side ? xc + w : side;
        p.x1b = 0;
    }
    if (top) {
        p.y1a = yc - h > 0 ? yc - h : 0;
        p.y2a = yc;
        p.y1b = h - (p.y2a - p.y1a);
    } else {
        p.y1a = yc;
        p.y2a = yc + h < side ? yc + h : side;
        p.y1b = 0;
    }
    return p;
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

int augment_mosaic4_at(const Sample parts[4], int imgsz, int xc, int yc, Sample *out) {
    *out = (Sample){0};
    int side = 2 * imgsz;
    if (imgsz < 1 || xc < 0 || yc < 0 || xc > side || yc > side)
        return yolo_fail("mosaic: centre (%d, %d) is outside the %dx%d canvas", xc, yc, side, side);
    // Polygons are kept when the parts have them; a part with boxes only cannot join those.
    int n = 0, n_points = 0;
    bool polygons = false, boxes_only = false;
    for (int i = 0; i < 4; i++) {
        const Instances *in = &parts[i].inst;
        n += in->n;
        if (in->n == 0) continue;
        if (in->poly) {
            polygons = true;
            n_points += in->poly[in->n];
        } else {
            boxes_only = true;
        }
    }
    if (polygons && boxes_only)
        return yolo_fail("mosaic: some images have polygon labels and others only boxes; a segment dataset needs "
                         "polygons on every labelled image");
    if (image_alloc(&out->img, side, side) != 0 || instances_reserve(&out->inst, n, n_points, polygons) != 0) {
        sample_free(out);
        return yolo_fail("mosaic at imgsz %d", imgsz);
    }
    memset(out->img.rgb, AUGMENT_PAD_VALUE, (size_t)side * (size_t)side * 3);

    Instances *o = &out->inst;
    if (polygons) o->poly[0] = 0;
    float limit = (float)side;
    for (int i = 0; i < 4; i++) {
        const Image *img = &parts[i].img;
        Placement p = place(i, img->w, img->h, xc, yc, side);
        size_t bytes = (size_t)(p.x2a - p.x1a) * 3;
        for (int y = p.y1a; y < p.y2a; y++)
            memcpy(out->img.rgb + ((size_t)y * (size_t)side + (size_t)p.x1a) * 3,
                   img->rgb + ((size_t)(p.y1b + y - p.y1a) * (size_t)img->w + (size_t)p.x1b) * 3, bytes);

        // Objects move by the placement offset and are clipped to the canvas (not to the visible
        // part of their image, as Ultralytics); zero-area boxes go.
        float dx = (float)(p.x1a - p.x1b), dy = (float)(p.y1a - p.y1b);
        const Instances *in = &parts[i].inst;
        for (int k = 0; k < in->n; k++) {
            const float *b = in->boxes + 4 * k;
            float x1 = clampf(b[0] + dx, 0, limit), y1 = clampf(b[1] + dy, 0, limit);
            float x2 = clampf(b[2] + dx, 0, limit), y2 = clampf(b[3] + dy, 0, limit);
            if (!((x2 - x1) * (y2 - y1) > 0)) continue;
            int j = o->n++;
            o->cls[j] = in->cls[k];
            float *ob = o->boxes + 4 * j;
            ob[0] = x1, ob[1] = y1, ob[2] = x2, ob[3] = y2;
            if (polygons) {
                int start = o->poly[j];
                for (int q = in->poly[k]; q < in->poly[k + 1]; q++, start++) {
                    o->points[2 * start] = clampf(in->points[2 * q] + dx, 0, limit);
                    o->points[2 * start + 1] = clampf(in->points[2 * q + 1] + dy, 0, limit);
                }
                o->poly[j + 1] = start;
            }
        }
    }
    return 0;
}
