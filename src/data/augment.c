// Object lists (Instances) and the flips; the other augmentations live in augment_*.c,
// letterbox.c and masks.c.
#include "data/augment.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

void instances_free(Instances *in) {
    free(in->cls);
    free(in->boxes);
    free(in->poly);
    free(in->points);
    *in = (Instances){0};
}

void sample_free(Sample *s) {
    image_free(&s->img);
    instances_free(&s->inst);
}

int instances_reserve(Instances *in, int n, int n_points, bool polygons) {
    if (n < 0 || n_points < 0)
        return yolo_fail("instances_reserve: negative size (%d objects, %d points)", n, n_points);
    if (n > in->cap) {
        int *cls = realloc(in->cls, sizeof *cls * (size_t)n);
        mallocCheck(cls);
        in->cls = cls;
        float *boxes = realloc(in->boxes, sizeof *boxes * 4 * (size_t)n);
        mallocCheck(boxes);
        in->boxes = boxes;
        if (in->poly) {
            int *poly = realloc(in->poly, sizeof *poly * ((size_t)n + 1));
            mallocCheck(poly);
            in->poly = poly;
        }
        in->cap = n;
    }
    if (polygons && !in->poly) {
        in->poly = malloc(sizeof *in->poly * ((size_t)in->cap + 1));
        mallocCheck(in->poly);
        // Objects already present get empty polygons, so the offsets stay valid.
        for (int i = 0; i <= in->n; i++) in->poly[i] = 0;
    }
    if (polygons && n_points > in->points_cap) {
        float *points = realloc(in->points, sizeof *points * 2 * (size_t)n_points);
        mallocCheck(points);
        in->points = points;
        in->points_cap = n_points;
    }
    return 0;
}

int instances_from_labels(const Labels *labels, int w, int h, Instances *out) {
    *out = (Instances){0};
    int n_points = labels->poly ? labels->poly[labels->n] : 0;
    if (instances_reserve(out, labels->n, n_points, labels->poly != NULL) != 0) {
        instances_free(out);
        return -1;
    }
    float fw = (float)w, fh = (float)h;
    for (int i = 0; i < labels->n; i++) {
        const float *b = labels->boxes + 4 * i;
        out->cls[i] = labels->cls[i];
        // Corners first, then scaled, in Ultralytics' order (convert_bbox, then denormalize).
        out->boxes[4 * i + 0] = (b[0] - b[2] / 2) * fw;
        out->boxes[4 * i + 1] = (b[1] - b[3] / 2) * fh;
        out->boxes[4 * i + 2] = (b[0] + b[2] / 2) * fw;
        out->boxes[4 * i + 3] = (b[1] + b[3] / 2) * fh;
    }
    if (labels->poly) {
        memcpy(out->poly, labels->poly, sizeof *out->poly * ((size_t)labels->n + 1));
        for (int j = 0; j < n_points; j++) {
            out->points[2 * j] = labels->points[2 * j] * fw;
            out->points[2 * j + 1] = labels->points[2 * j + 1] * fh;
        }
    }
    out->n = labels->n;
    return 0;
}

int instances_select(Instances *in, const int *idx, int k) {
    bool polygons = in->poly != NULL;
    int n_points = 0;
    for (int j = 0; j < k; j++) {
        if (idx[j] < 0 || idx[j] >= in->n)
            return yolo_fail("instances_select: index %d outside 0..%d", idx[j], in->n - 1);
        if (polygons) n_points += in->poly[idx[j] + 1] - in->poly[idx[j]];
    }
    // A permutation cannot be done in place without a copy; building the new list is simplest.
    Instances out = {0};
    if (instances_reserve(&out, k, n_points, polygons) != 0) {
        instances_free(&out);
        return -1;
    }
    if (polygons) out.poly[0] = 0;
    for (int j = 0; j < k; j++) {
        int i = idx[j];
        out.cls[j] = in->cls[i];
        memcpy(out.boxes + 4 * j, in->boxes + 4 * i, sizeof(float) * 4);
        if (polygons) {
            int len = in->poly[i + 1] - in->poly[i];
            // Guarded: with no points at all both arrays may be NULL, and NULL + 0 is undefined.
            if (len > 0)
                memcpy(out.points + 2 * out.poly[j], in->points + 2 * in->poly[i], sizeof(float) * 2 * (size_t)len);
            out.poly[j + 1] = out.poly[j] + len;
        }
    }
    out.n = k;
    instances_free(in);
    *in = out;
    return 0;
}

static void flip_horizontal(Sample *s) {
    Image *img = &s->img;
    for (int y = 0; y < img->h; y++) {
        uint8_t *row = img->rgb + (size_t)y * (size_t)img->w * 3;
        for (int a = 0, b = img->w - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[3 * a + c];
                row[3 * a + c] = row[3 * b + c];
                row[3 * b + c] = t;
            }
    }
    Instances *in = &s->inst;
    float w = (float)img->w;
    for (int i = 0; i < in->n; i++) {
        float *b = in->boxes + 4 * i, x1 = b[0];
        b[0] = w - b[2];
        b[2] = w - x1;
    }
    int n_points = in->poly ? in->poly[in->n] : 0;
    for (int j = 0; j < n_points; j++) in->points[2 * j] = w - in->points[2 * j];
}

static void flip_vertical(Sample *s) {
    Image *img = &s->img;
    size_t stride = (size_t)img->w * 3;
    for (int a = 0, b = img->h - 1; a < b; a++, b--) {
        uint8_t *ra = img->rgb + (size_t)a * stride, *rb = img->rgb + (size_t)b * stride;
        for (size_t k = 0; k < stride; k++) {
            uint8_t t = ra[k];
            ra[k] = rb[k];
            rb[k] = t;
        }
    }
    Instances *in = &s->inst;
    float h = (float)img->h;
    for (int i = 0; i < in->n; i++) {
        float *b = in->boxes + 4 * i, y1 = b[1];
        b[1] = h - b[3];
        b[3] = h - y1;
    }
    int n_points = in->poly ? in->poly[in->n] : 0;
    for (int j = 0; j < n_points; j++) in->points[2 * j + 1] = h - in->points[2 * j + 1];
}

void augment_flip(Sample *s, const AugmentParams *p, RngCursor *rng) {
    // Both draws are always taken, vertical first, as Ultralytics' two RandomFlip transforms.
    bool up_down = rng_next_uniform(rng) < p->flipud;
    bool left_right = rng_next_uniform(rng) < p->fliplr;
    if (up_down) flip_vertical(s);
    if (left_right) flip_horizontal(s);
}
