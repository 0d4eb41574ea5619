// Letterbox (spec §8, Ultralytics' LetterBox with auto=False, center=True): scale to fit, pad
// with 114 around the centre.
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "data/augment.h"

int letterbox(const Sample *in, int tw, int th, bool scaleup, Sample *out, float ratio_pad[4]) {
    *out = (Sample){0};
    const Image *src = &in->img;
    if (tw < 1 || th < 1) return yolo_fail("letterbox: target size %dx%d is empty", tw, th);
    double r = fmin((double)th / src->h, (double)tw / src->w);
    if (!scaleup) r = fmin(r, 1.0);
    // Python's round() is half to even, as nearbyint in the default rounding mode. A sliver
    // that would round to 0 pixels keeps 1 (OpenCV would refuse to resize to 0).
    int nw = (int)fmax(nearbyint(src->w * r), 1.0), nh = (int)fmax(nearbyint(src->h * r), 1.0);
    double dw = (tw - nw) / 2.0, dh = (th - nh) / 2.0;
    // -0.1 / +0.1 send the odd pixel of an odd padding to the right and bottom.
    int left = (int)nearbyint(dw - 0.1), top = (int)nearbyint(dh - 0.1);

    Image resized = {0};
    const Image *body = src;
    if (nw != src->w || nh != src->h) {
        if (image_resize_linear(src, nw, nh, &resized) != 0) return yolo_fail("letterbox to %dx%d", tw, th);
        body = &resized;
    }
    if (image_alloc(&out->img, tw, th) != 0) {
        image_free(&resized);
        return yolo_fail("letterbox to %dx%d", tw, th);
    }
    memset(out->img.rgb, AUGMENT_PAD_VALUE, (size_t)tw * (size_t)th * 3);
    for (int y = 0; y < nh; y++)
        memcpy(out->img.rgb + ((size_t)(top + y) * (size_t)tw + (size_t)left) * 3,
               body->rgb + (size_t)y * (size_t)nw * 3, (size_t)nw * 3);
    image_free(&resized);

    const Instances *a = &in->inst;
    int n_points = a->poly ? a->poly[a->n] : 0;
    if (instances_reserve(&out->inst, a->n, n_points, a->poly != NULL) != 0) {
        sample_free(out);
        return yolo_fail("letterbox to %dx%d", tw, th);
    }
    Instances *b = &out->inst;
    // Objects are scaled by r itself (not nw / w), as Ultralytics does.
    float fr = (float)r, fl = (float)left, ft = (float)top;
    for (int i = 0; i < a->n; i++) {
        b->cls[i] = a->cls[i];
        for (int k = 0; k < 4; k += 2) {
            b->boxes[4 * i + k] = a->boxes[4 * i + k] * fr + fl;
            b->boxes[4 * i + k + 1] = a->boxes[4 * i + k + 1] * fr + ft;
        }
    }
    if (a->poly) {
        memcpy(b->poly, a->poly, sizeof *b->poly * ((size_t)a->n + 1));
        for (int j = 0; j < n_points; j++) {
            b->points[2 * j] = a->points[2 * j] * fr + fl;
            b->points[2 * j + 1] = a->points[2 * j + 1] * fr + ft;
        }
    }
    b->n = a->n;
    ratio_pad[0] = ratio_pad[1] = fr;
    ratio_pad[2] = fl;
    ratio_pad[3] = ft;
    return 0;
}
