#include "tasks/segment/loss.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

struct SegmentLoss {
    DetectLoss *det;
    int n_levels, strides[DETECT_MAX_LEVELS];
    int max_batch, max_mask_pixels;
    float box_gain;
    ThreadPool *pool;

    // The shapes of the last assign.
    bool assigned;
    int batch, nm, mh, mw; // images, coefficients per anchor, prototype size
    float img_h, img_w;
    int level_h[DETECT_MAX_LEVELS], level_w[DETECT_MAX_LEVELS], level_start[DETECT_MAX_LEVELS + 1];

    // What assign keeps: the overlap maps at prototype resolution [batch][mh][mw], and for each
    // anchor the mask value of its target (k + 1 for the image's k-th target; 0 for background).
    uint8_t *masks;
    int32_t *value;
    // Per image: the mask term's sum over its anchors (evaluate); a scratch plane for the logits of
    // one anchor's box.
    double *image_sum;
    float *logits;
};

SegmentLoss *segment_loss_create(int nc, int n_levels, const int *strides, int max_batch, int max_h, int max_w,
                                 DetectLossGains gains) {
    DetectLoss *det = detect_loss_create(nc, n_levels, strides, max_batch, max_h, max_w, gains);
    if (!det) return NULL;
    // Proto doubles the first level's resolution: prototypes at half its stride.
    if (strides[0] % 2) {
        detect_loss_destroy(det);
        yolo_fail("segment loss: the first level's stride %d must be even (the prototypes are at half of it)", strides[0]);
        return NULL;
    }
    int64_t mh = max_h / (strides[0] / 2), mw = max_w / (strides[0] / 2), anchors = 0;
    for (int i = 0; i < n_levels; i++) anchors += (int64_t)(max_h / strides[i]) * (max_w / strides[i]);
    SegmentLoss *l = calloc(1, sizeof *l);
    if (l) {
        l->det = det;
        l->n_levels = n_levels;
        memcpy(l->strides, strides, (size_t)n_levels * sizeof *strides);
        l->max_batch = max_batch;
        l->max_mask_pixels = (int)(mh * mw);
        l->box_gain = gains.box;
        size_t planes = (size_t)max_batch * (size_t)(mh * mw);
        l->masks = malloc(planes);
        l->value = malloc((size_t)max_batch * (size_t)anchors * sizeof *l->value);
        l->image_sum = malloc((size_t)max_batch * sizeof *l->image_sum);
        l->logits = malloc(planes * sizeof *l->logits);
    }
    if (!l || !l->masks || !l->value || !l->image_sum || !l->logits) {
        if (l) segment_loss_destroy(l);
        else detect_loss_destroy(det);
        yolo_fail("segment loss: out of memory for %d images of %dx%d", max_batch, max_w, max_h);
        return NULL;
    }
    return l;
}

void segment_loss_destroy(SegmentLoss *l) {
    if (!l) return;
    detect_loss_destroy(l->det);
    free(l->masks);
    free(l->value);
    free(l->image_sum);
    free(l->logits);
    free(l);
}

void segment_loss_set_pool(SegmentLoss *l, ThreadPool *pool) {
    l->pool = pool;
    detect_loss_set_pool(l->det, pool);
}

const DetectLoss *segment_loss_detect(const SegmentLoss *l) { return l->det; }

// ---- shapes ----

static int check_map(const Tensor *t, const char *what, int level, int64_t b, int64_t c, int64_t h, int64_t w) {
    char s[64];
    if (!t || !t->data) return yolo_fail("segment loss: %s %d is missing", what, level);
    if (t->shape.ndim != 4 || t->shape.dim[0] != b || t->shape.dim[1] != c || t->shape.dim[2] != h || t->shape.dim[3] != w ||
        !tensor_is_contiguous(t))
        return yolo_fail("segment loss: %s %d is [%s]%s, want contiguous [%lldx%lldx%lldx%lld]", what, level,
                         shape_str(t->shape, s, sizeof s), tensor_is_contiguous(t) ? "" : " (strided)", (long long)b,
                         (long long)c, (long long)h, (long long)w);
    return 0;
}

// The coefficients and prototypes against the level shapes the detect loss accepted (or, for
// gradients, the shapes of the last assign).
static int check_mask_head(const SegmentLoss *l, const Tensor *const *coeffs, const Tensor *proto, const char *what) {
    for (int i = 0; i < l->n_levels; i++) TRY(check_map(coeffs[i], what, i, l->batch, l->nm, l->level_h[i], l->level_w[i]));
    return check_map(proto, what, -1, l->batch, l->nm, l->mh, l->mw);
}

static int set_shapes(SegmentLoss *l, const SegmentHead *head) {
    if (!head->coeffs || !head->coeffs[0] || !head->proto || head->proto->shape.ndim != 4)
        return yolo_fail("segment loss: the head has no mask coefficients or prototypes (is the model a segment model?)");
    const Tensor *lv0 = head->levels[0];
    l->batch = (int)lv0->shape.dim[0];
    l->nm = (int)head->proto->shape.dim[1];
    l->mh = 2 * (int)lv0->shape.dim[2];
    l->mw = 2 * (int)lv0->shape.dim[3];
    l->img_h = (float)(lv0->shape.dim[2] * l->strides[0]);
    l->img_w = (float)(lv0->shape.dim[3] * l->strides[0]);
    int a = 0;
    for (int i = 0; i < l->n_levels; i++) {
        l->level_h[i] = (int)head->levels[i]->shape.dim[2];
        l->level_w[i] = (int)head->levels[i]->shape.dim[3];
        l->level_start[i] = a;
        a += l->level_h[i] * l->level_w[i];
    }
    l->level_start[l->n_levels] = a;
    if (l->nm < 1) return yolo_fail("segment loss: prototypes with %d channels", l->nm);
    return check_mask_head(l, head->coeffs, head->proto, "mask coefficients of level");
}

// The overlap maps at prototype resolution: copied, or resampled as F.interpolate(mode="nearest")
// does (source index floor(i * in / out) with a float scale, clamped).
static int keep_masks(SegmentLoss *l, const SegmentTargets *t) {
    if (!t->masks || t->mask_h < 1 || t->mask_w < 1)
        return yolo_fail("segment loss: no overlap masks in the batch (a segment batch has one map per image)");
    size_t plane = (size_t)l->mh * (size_t)l->mw;
    if (t->mask_h == l->mh && t->mask_w == l->mw) {
        memcpy(l->masks, t->masks, (size_t)l->batch * plane);
        return 0;
    }
    float sy = (float)t->mask_h / (float)l->mh, sx = (float)t->mask_w / (float)l->mw;
    for (int b = 0; b < l->batch; b++)
        for (int y = 0; y < l->mh; y++) {
            int y0 = (int)floorf((float)y * sy);
            if (y0 > t->mask_h - 1) y0 = t->mask_h - 1;
            const uint8_t *src = t->masks + ((size_t)b * t->mask_h + (size_t)y0) * (size_t)t->mask_w;
            uint8_t *dst = l->masks + (size_t)b * plane + (size_t)y * (size_t)l->mw;
            for (int x = 0; x < l->mw; x++) {
                int x0 = (int)floorf((float)x * sx);
                dst[x] = src[x0 < t->mask_w - 1 ? x0 : t->mask_w - 1];
            }
        }
    return 0;
}

// Each foreground anchor's mask value, k + 1 for its target row, the k-th row of that image in
// batch order (Ultralytics' target_gt_idx + 1). A mask value above an image's target count means
// the maps and the targets disagree (a loader bug): refused, since no anchor could ever match it.
static int keep_values(SegmentLoss *l, const SegmentTargets *t) {
    const uint8_t *fg = detect_loss_fg_mask(l->det);
    const int32_t *row = detect_loss_target_row(l->det);
    int A = l->level_start[l->n_levels];
    for (int b = 0; b < l->batch; b++) {
        int count = 0;
        for (int r = 0; r < t->n_targets; r++) count += (int)t->targets[6 * (int64_t)r] == b;
        size_t plane = (size_t)l->mh * (size_t)l->mw;
        const uint8_t *map = l->masks + (size_t)b * plane;
        for (size_t p = 0; p < plane; p++)
            if (map[p] > count)
                return yolo_fail("segment loss: image %d's mask has value %d but the image has %d targets; the masks must "
                                 "number the targets of their image 1..n in batch order", b, map[p], count);
        for (int a = 0; a < A; a++) {
            int64_t at = (int64_t)b * A + a;
            l->value[at] = 0;
            if (!fg[at]) continue;
            int k = 0;
            for (int r = 0; r < row[at]; r++) k += (int)t->targets[6 * (int64_t)r] == b;
            l->value[at] = k + 1;
        }
    }
    return 0;
}

int segment_loss_assign(SegmentLoss *l, const SegmentHead *head, const SegmentTargets *t) {
    l->assigned = false;
    TRY(detect_loss_assign(l->det, head->levels, t->targets, t->n_targets));
    TRY(set_shapes(l, head));
    TRY(keep_masks(l, t));
    TRY(keep_values(l, t));
    l->assigned = true;
    return 0;
}

// ---- evaluate ----

typedef struct {
    SegmentLoss *l;
    const SegmentHead *head;
    const SegmentGrads *grads;
    double scale; // d(batch * total) / d(sum of the anchors' mask terms)
} EvalCtx;

// One anchor's box on the prototype grid and its normalised area, computed as Ultralytics does in
// float32: the pixel box over the input size, times the prototype size. Its pixels are the columns
// r with x1 <= r < x2 and the rows c with y1 <= c < y2.
typedef struct {
    int x0, x1, y0, y1; // [x0, x1) x [y0, y1), clipped to the grid
    float area;
} Crop;

static Crop crop_of(const SegmentLoss *l, const float *box_grid, float stride) {
    float n[4] = {box_grid[0] * stride / l->img_w, box_grid[1] * stride / l->img_h, box_grid[2] * stride / l->img_w,
                  box_grid[3] * stride / l->img_h};
    float x1 = n[0] * (float)l->mw, y1 = n[1] * (float)l->mh, x2 = n[2] * (float)l->mw, y2 = n[3] * (float)l->mh;
    Crop c = {.area = (n[2] - n[0]) * (n[3] - n[1])};
    // r >= x1 for integers r is r >= ceil(x1); r < x2 is r < ceil(x2).
    c.x0 = (int)fmaxf(ceilf(x1), 0.0f);
    c.x1 = (int)fminf(ceilf(x2), (float)l->mw);
    c.y0 = (int)fmaxf(ceilf(y1), 0.0f);
    c.y1 = (int)fminf(ceilf(y2), (float)l->mh);
    if (c.x1 < c.x0) c.x1 = c.x0;
    if (c.y1 < c.y0) c.y1 = c.y0;
    return c;
}

// One foreground anchor of image b: returns its term (BCE summed over the crop, over all mh * mw
// pixels, over the area); with grads, adds d/d(proto) into the image's prototype gradient and
// writes d/d(coefficients). coeff: its first coefficient, the others `hw` floats apart.
static double anchor_term(const EvalCtx *c, int b, const float *coeff, float *coeff_grad, int64_t hw, const Crop *crop,
                          int value, float *logits) {
    const SegmentLoss *l = c->l;
    size_t plane = (size_t)l->mh * (size_t)l->mw;
    const float *proto = c->head->proto->data + (size_t)b * (size_t)l->nm * plane;
    const uint8_t *map = l->masks + (size_t)b * plane;
    int cw = crop->x1 - crop->x0, ch = crop->y1 - crop->y0;
    // The logits of the crop, coefficients in order (einsum's sum over n), into logits[ch][cw].
    for (int i = 0; i < cw * ch; i++) logits[i] = 0.0f;
    for (int k = 0; k < l->nm; k++) {
        float w = coeff[k * hw];
        const float *p = proto + (size_t)k * plane;
        for (int y = 0; y < ch; y++) {
            const float *row = p + (size_t)(crop->y0 + y) * (size_t)l->mw + crop->x0;
            float *out = logits + (size_t)y * (size_t)cw;
            for (int x = 0; x < cw; x++) out[x] += w * row[x];
        }
    }
    // BCE with logits, stable form max(x, 0) - x t + log(1 + exp(-|x|)); the logits turn into the
    // gradient with respect to them, (sigmoid(x) - t) times the anchor's factor.
    double sum = 0.0, denom = (double)plane * crop->area;
    float g_scale = (float)(c->scale / denom);
    for (int y = 0; y < ch; y++) {
        const uint8_t *m = map + (size_t)(crop->y0 + y) * (size_t)l->mw + crop->x0;
        float *x = logits + (size_t)y * (size_t)cw;
        for (int i = 0; i < cw; i++) {
            float t = m[i] == value ? 1.0f : 0.0f, e = expf(-fabsf(x[i]));
            sum += (double)(fmaxf(x[i], 0.0f) - x[i] * t + log1pf(e));
            float sigmoid = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
            x[i] = (sigmoid - t) * g_scale;
        }
    }
    if (c->grads) {
        float *proto_grad = c->grads->proto->data + (size_t)b * (size_t)l->nm * plane;
        for (int k = 0; k < l->nm; k++) {
            float w = coeff[k * hw], dot = 0.0f;
            const float *p = proto + (size_t)k * plane;
            float *gp = proto_grad + (size_t)k * plane;
            for (int y = 0; y < ch; y++) {
                size_t off = (size_t)(crop->y0 + y) * (size_t)l->mw + crop->x0;
                const float *g = logits + (size_t)y * (size_t)cw;
                for (int x = 0; x < cw; x++) {
                    dot += g[x] * p[off + x];
                    gp[off + x] += g[x] * w;
                }
            }
            coeff_grad[k * hw] = dot;
        }
    }
    return sum / denom;
}

static void evaluate_image(const EvalCtx *c, int b, float *logits) {
    SegmentLoss *l = c->l;
    const DetectLoss *det = l->det;
    int A = l->level_start[l->n_levels];
    const float *boxes = detect_loss_target_box(det);
    size_t plane = (size_t)l->mh * (size_t)l->mw;
    if (c->grads) memset(c->grads->proto->data + (size_t)b * (size_t)l->nm * plane, 0, (size_t)l->nm * plane * sizeof(float));
    double sum = 0.0;
    for (int i = 0; i < l->n_levels; i++) {
        int64_t hw = (int64_t)l->level_h[i] * l->level_w[i];
        const float *coeffs = c->head->coeffs[i]->data + (size_t)b * (size_t)l->nm * (size_t)hw;
        float *coeff_grads = c->grads ? c->grads->coeffs[i]->data + (size_t)b * (size_t)l->nm * (size_t)hw : NULL;
        if (coeff_grads) memset(coeff_grads, 0, (size_t)l->nm * (size_t)hw * sizeof(float));
        for (int64_t p = 0; p < hw; p++) {
            int64_t at = (int64_t)b * A + l->level_start[i] + p;
            if (!l->value[at]) continue;
            Crop crop = crop_of(l, boxes + 4 * at, (float)l->strides[i]);
            sum += anchor_term(c, b, coeffs + p, coeff_grads ? coeff_grads + p : NULL, hw, &crop, l->value[at], logits);
        }
    }
    l->image_sum[b] = sum;
}

static void evaluate_images(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const EvalCtx *c = ctx;
    // Each image has its own logits plane, so images can run on any thread.
    for (int64_t b = begin; b < end; b++)
        evaluate_image(c, (int)b, c->l->logits + (size_t)b * (size_t)c->l->max_mask_pixels);
}

int segment_loss_evaluate(SegmentLoss *l, const SegmentHead *head, const SegmentGrads *grads, SegmentLossParts *parts) {
    if (!l->assigned) return yolo_fail("segment loss: evaluate needs a successful assign first");
    TRY(check_mask_head(l, head->coeffs, head->proto, "mask coefficients of level"));
    if (grads) TRY(check_mask_head(l, (const Tensor *const *)grads->coeffs, grads->proto, "gradient of the mask coefficients of level"));
    DetectLossParts d;
    TRY(detect_loss_evaluate(l->det, head->levels, grads ? grads->levels : NULL, &d));
    // Ultralytics divides the summed mask terms by the batch's foreground count.
    double scale = d.fg_anchors > 0 ? (double)l->batch * l->box_gain / d.fg_anchors : 0.0;
    EvalCtx c = {l, head, grads, scale};
    if (l->pool) pool_for(l->pool, l->batch, evaluate_images, &c);
    else evaluate_images(&c, 0, l->batch, 0);
    double sum = 0.0;
    for (int b = 0; b < l->batch; b++) sum += l->image_sum[b];
    *parts = (SegmentLossParts){.box = d.box, .cls = d.cls, .dfl = d.dfl, .fg_anchors = d.fg_anchors};
    parts->seg = d.fg_anchors > 0 ? l->box_gain * sum / d.fg_anchors : 0.0;
    if (!isfinite(parts->seg))
        return yolo_fail("segment loss: the mask loss is not finite (%g): the coefficients or prototypes overflowed or are "
                         "NaN; a lower lr0 or warmup usually prevents it", parts->seg);
    return 0;
}

int segment_loss_compute(SegmentLoss *l, const SegmentHead *head, const SegmentTargets *t, const SegmentGrads *grads,
                         SegmentLossParts *parts) {
    TRY(segment_loss_assign(l, head, t));
    return segment_loss_evaluate(l, head, grads, parts);
}
