// Overlap masks for segmentation (spec §5, Ultralytics' polygons2masks_overlap): each polygon is
// rasterised at full resolution, reduced to 1/ratio the way cv2.resize(INTER_LINEAR) reduces a
// 0/1 uint8 mask, and the reduced masks are painted largest first.
//
// The reduction uses OpenCV's taps (source x = (i + 0.5) * scale - 0.5, clamped at the edges)
// and its 11-bit fixed-point weights, rounding half up, so a reduced pixel is 1 when the
// bilinear average of its taps is >= 1/2. For ratio 4 that reads: the pixel is set when at least
// two of the four full-resolution pixels at offsets 1..2 inside its 4x4 block are set.
//
// One deviation: Ultralytics truncates the vertices to integers and cv2.fillPoly sets every pixel
// the outline touches, edges included; polygon_fill keeps the float vertices and sets the pixels
// whose centres are inside. Its masks are the polygon's true area, Ultralytics' about half a
// pixel larger on each side at full resolution (an eighth of a reduced pixel).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/augment.h"
#include "data/polygon.h"

enum { COEF_BITS = 11, COEF_ONE = 1 << COEF_BITS };

typedef struct {
    int i0, i1;
    int w0, w1; // COEF_BITS fixed point
} Tap;

static void make_taps(Tap *taps, int dst, int src) {
    double scale = (double)src / dst;
    for (int i = 0; i < dst; i++) {
        float f = (float)((i + 0.5) * scale - 0.5);
        int i0 = (int)floorf(f);
        f -= (float)i0;
        if (i0 < 0) i0 = 0, f = 0.0f;
        if (i0 >= src - 1) i0 = src - 1, f = 0.0f;
        taps[i] = (Tap){.i0 = i0,
                        .i1 = i0 + 1 < src ? i0 + 1 : i0,
                        .w0 = (int)lrintf((1.0f - f) * COEF_ONE),
                        .w1 = (int)lrintf(f * COEF_ONE)};
    }
}

// One object's reduced mask, kept only over the rectangle its polygon can reach.
typedef struct {
    int x0, y0, w, h; // in reduced pixels
    size_t offset;    // into the shared byte buffer
    long area;
} Crop;

typedef struct {
    int w, h, mw, mh;
    uint8_t *plane; // w x h, all 0 between objects
    Tap *tx, *ty;
    uint8_t *bytes;
    size_t used, cap;
} Raster;

// The reduced pixels whose taps touch [lo, hi] form one run, since taps grow with the index.
static void tap_range(const Tap *taps, int n, int lo, int hi, int *first, int *count) {
    int a = 0;
    while (a < n && taps[a].i1 < lo) a++;
    int b = a;
    while (b < n && taps[b].i0 <= hi) b++;
    *first = a;
    *count = b - a;
}

static int rasterize_one(Raster *r, const float *xy, int n, Crop *crop) {
    *crop = (Crop){0};
    if (n < 3) return 0;
    float xmin = xy[0], xmax = xy[0], ymin = xy[1], ymax = xy[1];
    for (int j = 1; j < n; j++) {
        xmin = fminf(xmin, xy[2 * j]), xmax = fmaxf(xmax, xy[2 * j]);
        ymin = fminf(ymin, xy[2 * j + 1]), ymax = fmaxf(ymax, xy[2 * j + 1]);
    }
    // Full-resolution pixels polygon_fill may set, with a pixel of margin; clamped in float so a
    // wild coordinate cannot overflow the conversion.
    int px0 = (int)fmaxf(floorf(xmin) - 1, 0), px1 = (int)fminf(ceilf(xmax) + 1, (float)(r->w - 1));
    int py0 = (int)fmaxf(floorf(ymin) - 1, 0), py1 = (int)fminf(ceilf(ymax) + 1, (float)(r->h - 1));
    if (px0 > px1 || py0 > py1) return 0;
    polygon_fill(r->plane, r->w, r->h, xy, n, 1);

    tap_range(r->tx, r->mw, px0, px1, &crop->x0, &crop->w);
    tap_range(r->ty, r->mh, py0, py1, &crop->y0, &crop->h);
    size_t size = (size_t)crop->w * (size_t)crop->h;
    if (r->used + size > r->cap) {
        size_t cap = 2 * r->cap > r->used + size ? 2 * r->cap : r->used + size;
        uint8_t *bytes = realloc(r->bytes, cap);
        mallocCheck(bytes);
        r->bytes = bytes;
        r->cap = cap;
    }
    crop->offset = r->used;
    r->used += size;
    for (int y = 0; y < crop->h; y++) {
        const Tap *ty = &r->ty[crop->y0 + y];
        const uint8_t *row0 = r->plane + (size_t)ty->i0 * (size_t)r->w;
        const uint8_t *row1 = r->plane + (size_t)ty->i1 * (size_t)r->w;
        uint8_t *out = r->bytes + crop->offset + (size_t)y * (size_t)crop->w;
        for (int x = 0; x < crop->w; x++) {
            const Tap *tx = &r->tx[crop->x0 + x];
            int top = row0[tx->i0] * tx->w0 + row0[tx->i1] * tx->w1;
            int bottom = row1[tx->i0] * tx->w0 + row1[tx->i1] * tx->w1;
            out[x] = (uint8_t)((top * ty->w0 + bottom * ty->w1 + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS));
            crop->area += out[x];
        }
    }
    // Back to all zeros for the next object, touching only what this one could have set.
    for (int y = py0; y <= py1; y++) memset(r->plane + (size_t)y * (size_t)r->w + px0, 0, (size_t)(px1 - px0 + 1));
    return 0;
}

int rasterize_overlap_masks(Sample *s, int ratio, uint8_t *map) {
    int w = s->img.w, h = s->img.h;
    if (ratio < 1 || w / ratio < 1 || h / ratio < 1)
        return yolo_fail("overlap masks: ratio %d does not fit a %dx%d image", ratio, w, h);
    Raster r = {.w = w, .h = h, .mw = w / ratio, .mh = h / ratio};
    memset(map, 0, (size_t)r.mw * (size_t)r.mh);
    Instances *in = &s->inst;
    int n = in->n;
    if (!in->poly || n == 0) return 0;
    if (n > 255)
        return yolo_fail("overlap masks: %d objects in one image, but the uint8 map holds at most 255", n);

    r.plane = calloc((size_t)w * (size_t)h, 1);
    r.tx = malloc(sizeof *r.tx * (size_t)r.mw);
    r.ty = malloc(sizeof *r.ty * (size_t)r.mh);
    Crop *crops = malloc(sizeof *crops * (size_t)n);
    int *order = malloc(sizeof *order * (size_t)n);
    int rc = 0;
    if (!r.plane || !r.tx || !r.ty || !crops || !order) {
        rc = yolo_fail("out of memory rasterising %d masks of %dx%d", n, w, h);
        goto done;
    }
    make_taps(r.tx, r.mw, w);
    make_taps(r.ty, r.mh, h);
    for (int i = 0; i < n && rc == 0; i++)
        rc = rasterize_one(&r, in->points + 2 * in->poly[i], in->poly[i + 1] - in->poly[i], &crops[i]);
    if (rc != 0) goto done;

    // Largest area first; a stable insertion sort (n <= 255) keeps equal areas in label order.
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && crops[order[j - 1]].area < crops[i].area) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int k = 0; k < n; k++) {
        const Crop *c = &crops[order[k]];
        for (int y = 0; y < c->h; y++) {
            const uint8_t *bits = r.bytes + c->offset + (size_t)y * (size_t)c->w;
            uint8_t *out = map + (size_t)(c->y0 + y) * (size_t)r.mw + c->x0;
            for (int x = 0; x < c->w; x++)
                if (bits[x]) out[x] = (uint8_t)(k + 1);
        }
    }
    rc = instances_select(in, order, n);
done:
    free(r.plane);
    free(r.tx);
    free(r.ty);
    free(r.bytes);
    free(crops);
    free(order);
    return rc;
}
