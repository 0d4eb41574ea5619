// yolo_predict: the command's predict run with a per-image callback, each engine result
// (engine/predict_mode.h) handed over as a yolo_prediction in the original image's pixels.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/predict_cmd.h"
#include "core/status.h"

typedef struct {
    yolo_predict_fn fn;
    void *ctx;
    // Class numbers as text for a checkpoint without names, made at the first image.
    char **numbers;
    int n_numbers;
} Relay;

static int number_names(Relay *r, int nc) {
    r->numbers = calloc((size_t)nc, sizeof *r->numbers);
    if (!r->numbers) return yolo_fail("out of memory for %d class names", nc);
    r->n_numbers = nc;
    for (int c = 0; c < nc; c++) {
        char text[16];
        snprintf(text, sizeof text, "%d", c);
        r->numbers[c] = malloc(strlen(text) + 1);
        if (!r->numbers[c]) return yolo_fail("out of memory for %d class names", nc);
        memcpy(r->numbers[c], text, strlen(text) + 1);
    }
    return 0;
}

static int relay(void *ctx, const PredictedImage *img) {
    Relay *r = ctx;
    const Prediction *p = img->r;
    if (!img->names && !r->numbers && img->nc > 0) TRY(number_names(r, img->nc));
    yolo_prediction out = {
        .path = img->path, .index = img->index, .count = img->count, .width = img->w, .height = img->h,
        .run_dir = img->run_dir, .nc = img->nc, .names = (const char *const *)(img->names ? img->names : r->numbers),
        .n = p->n, .boxes = img->boxes, .scores = p->scores, .classes = p->classes,
        .preprocess_ms = 1e3 * img->pre, .inference_ms = 1e3 * img->infer, .postprocess_ms = 1e3 * img->post,
    };
    out.n_top = p->n_top; // at most PREDICT_TOP_K, which YOLO_TOP_K holds (modes.c)
    memcpy(out.top_classes, p->top_classes, sizeof *out.top_classes * (size_t)p->n_top);
    memcpy(out.top_scores, p->top_scores, sizeof *out.top_scores * (size_t)p->n_top);
    if (p->masks && p->n > 0) {
        // The mapping the annotated image is drawn with (predict_mode.c, save_image), in the same
        // float arithmetic, so that yolo_mask_at agrees with the drawn masks pixel for pixel.
        float sx = (float)p->mask_w / (float)img->in_w, sy = (float)p->mask_h / (float)img->in_h;
        out.mask_w = p->mask_w;
        out.mask_h = p->mask_h;
        out.masks = p->masks;
        out.mask_scale_x = (float)img->gain * sx;
        out.mask_scale_y = (float)img->gain * sy;
        out.mask_offset_x = (float)img->pad_x * sx;
        out.mask_offset_y = (float)img->pad_y * sy;
    }
    return r->fn(&out, r->ctx) != 0 ? 1 : 0;
}

int yolo_predict(const yolo_args *y, yolo_predict_fn fn, void *ctx) {
    int rc;
    Args *a = api_run_args(y, "predict", &rc);
    if (a) {
        Relay r = {.fn = fn, .ctx = ctx};
        rc = predict_command(a, fn ? relay : NULL, &r);
        for (int c = 0; c < r.n_numbers; c++) free(r.numbers[c]);
        free(r.numbers);
    }
    free(a);
    return api_done(rc);
}

int yolo_mask_at(const yolo_prediction *p, int i, int x, int y) {
    if (!p || !p->masks || i < 0 || i >= p->n || x < 0 || y < 0 || x >= p->width || y >= p->height) return 0;
    int mx = (int)floorf(((float)x + 0.5f) * p->mask_scale_x + p->mask_offset_x);
    int my = (int)floorf(((float)y + 0.5f) * p->mask_scale_y + p->mask_offset_y);
    if (mx < 0 || my < 0 || mx >= p->mask_w || my >= p->mask_h) return 0;
    return p->masks[((size_t)i * (size_t)p->mask_h + (size_t)my) * (size_t)p->mask_w + (size_t)mx] != 0;
}
