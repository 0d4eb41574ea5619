#include "tasks/detect/loss.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/assigner.h"
#include "tasks/detect/ciou.h"

enum { BOX_CHANNELS = 4 * DETECT_REG_MAX };

// DFL targets are clamped to reg_max - 1 - 0.01 (a Python double, compared as float32).
static const float DFL_TARGET_MAX = (float)(DETECT_REG_MAX - 1 - 0.01);

struct DetectLoss {
    int nc, n_levels, strides[DETECT_MAX_LEVELS];
    int max_batch, max_anchors;
    DetectLossGains gains;
    ThreadPool *pool;

    // The shapes of the last assign.
    bool assigned;
    int batch, anchors;
    int level_h[DETECT_MAX_LEVELS], level_w[DETECT_MAX_LEVELS], level_start[DETECT_MAX_LEVELS + 1];
    float img_w, img_h;
    float *anchor_grid;   // [anchors][2]: anchor centres in grid units (x + 0.5, y + 0.5)
    float *anchor_px;     // [anchors][2]: the same in pixels
    float *anchor_stride; // [anchors]

    // What assign keeps, [batch][anchors]: the assignment (boxes [batch][anchors][4] in grid
    // units), and CIoU's alpha for foreground anchors.
    uint8_t *fg;
    int32_t *cls, *row;
    float *score, *box;
    double *alpha;
    // Per image: target score sum and foreground count (assign), box, cls and DFL sums (evaluate).
    double *image_score_sum, *image_sums;
    int *image_fg;

    // Per image, so that images can run on any threads: the assigner's scratch and the detached
    // predicted boxes in pixels, [batch][anchors][4].
    TalScratch *tal;
    float *pred_px;
};

// ---- creation ----

static void *zalloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }

DetectLoss *detect_loss_create(int nc, int n_levels, const int *strides, int max_batch, int max_h, int max_w,
                               DetectLossGains gains) {
    if (nc < 1 || n_levels < 1 || n_levels > DETECT_MAX_LEVELS || max_batch < 1) {
        yolo_fail("detect loss: nc %d, %d levels (1..%d), max batch %d: each must be at least 1", nc, n_levels,
                  DETECT_MAX_LEVELS, max_batch);
        return NULL;
    }
    int largest = 0;
    for (int i = 0; i < n_levels; i++) {
        if (strides[i] < 1) {
            yolo_fail("detect loss: stride %d of level %d must be positive", strides[i], i);
            return NULL;
        }
        if (strides[i] > largest) largest = strides[i];
    }
    if (max_h < largest || max_w < largest || max_h % largest || max_w % largest) {
        yolo_fail("detect loss: image size %dx%d must be a positive multiple of the largest stride %d", max_w, max_h, largest);
        return NULL;
    }
    int64_t anchors = 0;
    for (int i = 0; i < n_levels; i++) anchors += (int64_t)(max_h / strides[i]) * (max_w / strides[i]);
    if (anchors > INT32_MAX / (BOX_CHANNELS + nc) || (int64_t)max_batch * anchors > INT32_MAX) {
        yolo_fail("detect loss: %d images of %dx%d are too many anchors", max_batch, max_w, max_h);
        return NULL;
    }

    DetectLoss *l = zalloc(1, sizeof *l);
    if (!l) {
        yolo_fail("detect loss: out of memory");
        return NULL;
    }
    l->nc = nc;
    l->n_levels = n_levels;
    memcpy(l->strides, strides, (size_t)n_levels * sizeof *strides);
    l->max_batch = max_batch;
    l->max_anchors = (int)anchors;
    l->gains = gains;

    size_t A = (size_t)anchors, B = (size_t)max_batch, BA = B * A;
    l->anchor_grid = zalloc(A * 2, sizeof(float));
    l->anchor_px = zalloc(A * 2, sizeof(float));
    l->anchor_stride = zalloc(A, sizeof(float));
    l->fg = zalloc(BA, sizeof(uint8_t));
    l->cls = zalloc(BA, sizeof(int32_t));
    l->row = zalloc(BA, sizeof(int32_t));
    l->score = zalloc(BA, sizeof(float));
    l->box = zalloc(BA * 4, sizeof(float));
    l->alpha = zalloc(BA, sizeof(double));
    l->image_score_sum = zalloc(B, sizeof(double));
    l->image_sums = zalloc(B * 3, sizeof(double));
    l->image_fg = zalloc(B, sizeof(int));
    l->pred_px = zalloc(BA * 4, sizeof(float));
    l->tal = zalloc(B, sizeof(TalScratch));
    bool ok = l->anchor_grid && l->anchor_px && l->anchor_stride && l->fg && l->cls && l->row && l->score && l->box && l->alpha &&
              l->image_score_sum && l->image_sums && l->image_fg && l->pred_px && l->tal;
    if (ok) {
        // One block per array for all images; image b's scratch starts b * A entries in.
        TalScratch *t = l->tal;
        t->items = zalloc(BA, sizeof(TopkItem));
        t->overlap = zalloc(BA, sizeof(float));
        t->in_box = zalloc(BA, sizeof(uint8_t));
        t->n_pos = zalloc(BA, sizeof(uint8_t));
        t->gt = zalloc(BA, sizeof(int32_t));
        t->gt_overlap = zalloc(BA, sizeof(float));
        t->gt_align = zalloc(BA, sizeof(float));
        t->best_overlap = zalloc(BA, sizeof(float));
        t->best_gt = zalloc(BA, sizeof(int32_t));
        ok = t->items && t->overlap && t->in_box && t->n_pos && t->gt && t->gt_overlap && t->gt_align && t->best_overlap &&
             t->best_gt;
        for (size_t b = 1; ok && b < B; b++)
            l->tal[b] = (TalScratch){t->items + b * A,  t->overlap + b * A,      t->in_box + b * A,
                                     t->n_pos + b * A,  t->gt + b * A,           t->gt_overlap + b * A,
                                     t->gt_align + b * A, t->best_overlap + b * A, t->best_gt + b * A};
    }
    if (!ok) {
        detect_loss_destroy(l);
        yolo_fail("detect loss: out of memory for %lld anchors x %d images", (long long)anchors, max_batch);
        return NULL;
    }
    return l;
}

void detect_loss_destroy(DetectLoss *l) {
    if (!l) return;
    if (l->tal) {
        TalScratch *t = l->tal;
        free(t->items);
        free(t->overlap);
        free(t->in_box);
        free(t->n_pos);
        free(t->gt);
        free(t->gt_overlap);
        free(t->gt_align);
        free(t->best_overlap);
        free(t->best_gt);
    }
    free(l->tal);
    free(l->pred_px);
    free(l->anchor_grid);
    free(l->anchor_px);
    free(l->anchor_stride);
    free(l->fg);
    free(l->cls);
    free(l->row);
    free(l->score);
    free(l->box);
    free(l->alpha);
    free(l->image_score_sum);
    free(l->image_sums);
    free(l->image_fg);
    free(l);
}

void detect_loss_set_pool(DetectLoss *l, ThreadPool *pool) { l->pool = pool; }

// ---- shapes ----

static int check_maps(const DetectLoss *l, const Tensor *const *maps, const char *what, int batch, const int *h, const int *w) {
    for (int i = 0; i < l->n_levels; i++) {
        const Tensor *t = maps[i];
        char s[64];
        if (!t || !t->data) return yolo_fail("detect loss: %s of level %d is missing", what, i);
        if (t->shape.ndim != 4 || t->shape.dim[0] != batch || t->shape.dim[1] != BOX_CHANNELS + l->nc || t->shape.dim[2] != h[i] ||
            t->shape.dim[3] != w[i] || !tensor_is_contiguous(t))
            return yolo_fail("detect loss: %s of level %d is [%s]%s, want contiguous [%dx%dx%dx%d]", what, i,
                             shape_str(t->shape, s, sizeof s), tensor_is_contiguous(t) ? "" : " (strided)", batch,
                             BOX_CHANNELS + l->nc, h[i], w[i]);
    }
    return 0;
}

// Reads the level sizes from the outputs (the input size is level 0's size times its stride, as
// Ultralytics takes it) and lays out the anchors: levels in order, each row-major.
static int set_shapes(DetectLoss *l, const Tensor *const *outputs) {
    if (!outputs || !outputs[0] || outputs[0]->shape.ndim != 4) return yolo_fail("detect loss: outputs must be [batch, 64 + nc, h, w] maps");
    int batch = (int)outputs[0]->shape.dim[0];
    int img_h = (int)outputs[0]->shape.dim[2] * l->strides[0], img_w = (int)outputs[0]->shape.dim[3] * l->strides[0];
    int h[DETECT_MAX_LEVELS], w[DETECT_MAX_LEVELS];
    int64_t anchors = 0;
    for (int i = 0; i < l->n_levels; i++) {
        h[i] = img_h / l->strides[i];
        w[i] = img_w / l->strides[i];
        anchors += (int64_t)h[i] * w[i];
    }
    if (batch < 1 || batch > l->max_batch || anchors > l->max_anchors)
        return yolo_fail("detect loss: batch %d of %dx%d images exceeds the %d images and %d anchors it was created for", batch,
                         img_w, img_h, l->max_batch, l->max_anchors);
    if (anchors < TAL_TOPK)
        return yolo_fail("detect loss: %dx%d images give %lld anchors; the assigner takes the top %d", img_w, img_h,
                         (long long)anchors, TAL_TOPK);
    TRY(check_maps(l, outputs, "output", batch, h, w));
    l->batch = batch;
    l->anchors = (int)anchors;
    l->img_h = (float)img_h;
    l->img_w = (float)img_w;
    int a = 0;
    for (int i = 0; i < l->n_levels; i++) {
        l->level_h[i] = h[i];
        l->level_w[i] = w[i];
        l->level_start[i] = a;
        for (int y = 0; y < h[i]; y++)
            for (int x = 0; x < w[i]; x++, a++) {
                l->anchor_grid[2 * a] = (float)x + 0.5f;
                l->anchor_grid[2 * a + 1] = (float)y + 0.5f;
                l->anchor_px[2 * a] = l->anchor_grid[2 * a] * (float)l->strides[i];
                l->anchor_px[2 * a + 1] = l->anchor_grid[2 * a + 1] * (float)l->strides[i];
                l->anchor_stride[a] = (float)l->strides[i];
            }
    }
    l->level_start[l->n_levels] = a;
    return 0;
}

static int check_targets(const DetectLoss *l, const float *targets, int n_targets) {
    if (n_targets < 0 || (n_targets > 0 && !targets)) return yolo_fail("detect loss: %d targets without data", n_targets);
    for (int i = 0; i < n_targets; i++) {
        const float *t = targets + (int64_t)i * 6;
        if (!(t[0] >= 0.0f && t[0] < (float)l->batch) || !(t[1] >= 0.0f && t[1] < (float)l->nc))
            return yolo_fail("detect loss: target %d has image %g and class %g; want image 0..%d and class 0..%d", i, t[0], t[1],
                             l->batch - 1, l->nc - 1);
        for (int k = 2; k < 6; k++)
            if (!isfinite(t[k])) return yolo_fail("detect loss: target %d has a non-finite box value %g", i, t[k]);
    }
    return 0;
}

static void run_images(const DetectLoss *l, ParallelFn fn, void *ctx) {
    if (l->pool) pool_for(l->pool, l->batch, fn, ctx);
    else fn(ctx, 0, l->batch, 0);
}

// ---- DFL decoding ----

// Softmax over the 16 bins of one side, whose logits lie `step` floats apart, into p. Returns
// log-sum-exp (for DFL's cross-entropy).
static double side_softmax(const float *z, int64_t step, double p[DETECT_REG_MAX]) {
    double m = z[0];
    for (int j = 1; j < DETECT_REG_MAX; j++) m = fmax(m, z[j * step]);
    double sum = 0.0;
    for (int j = 0; j < DETECT_REG_MAX; j++) {
        p[j] = exp(z[j * step] - m);
        sum += p[j];
    }
    for (int j = 0; j < DETECT_REG_MAX; j++) p[j] /= sum;
    return m + log(sum);
}

// One anchor's box branch: each side's bin probabilities, their expectation (the DFL module's
// output, a distance in grid units) and log-sum-exp, and the box from dist2bbox (xyxy, grid units).
typedef struct {
    double prob[4][DETECT_REG_MAX], dist[4], lse[4], box[4];
} Decoded;

// z: the anchor's first box logit; the 64 channels lie hw floats apart.
static void decode(const float *z, int64_t hw, const float anchor[2], Decoded *d) {
    for (int s = 0; s < 4; s++) {
        d->lse[s] = side_softmax(z + s * DETECT_REG_MAX * hw, hw, d->prob[s]);
        d->dist[s] = 0.0;
        for (int j = 0; j < DETECT_REG_MAX; j++) d->dist[s] += d->prob[s][j] * j;
    }
    d->box[0] = anchor[0] - d->dist[0];
    d->box[1] = anchor[1] - d->dist[1];
    d->box[2] = anchor[0] + d->dist[2];
    d->box[3] = anchor[1] + d->dist[3];
}

// ---- assign ----

typedef struct {
    DetectLoss *l;
    const Tensor *const *outputs;
    const float *targets;
    int n_targets;
} AssignCtx;

static const float *image_map(const DetectLoss *l, const Tensor *t, int b, int level) {
    return t->data + (int64_t)b * (BOX_CHANNELS + l->nc) * l->level_h[level] * l->level_w[level];
}

static void assign_image(const AssignCtx *c, int b) {
    DetectLoss *l = c->l;
    int A = l->anchors;
    int64_t at = (int64_t)b * A;
    float *pred = l->pred_px + 4 * at;
    TalLogits logits = {.n_levels = l->n_levels};
    for (int i = 0; i < l->n_levels; i++) {
        int64_t hw = (int64_t)l->level_h[i] * l->level_w[i];
        const float *map = image_map(l, c->outputs[i], b, i);
        logits.start[i] = l->level_start[i];
        logits.plane[i] = hw;
        logits.level[i] = map + BOX_CHANNELS * hw;
        for (int64_t p = 0; p < hw; p++) {
            // Ultralytics hands the assigner the boxes in grid units (float32) times the stride.
            int a = l->level_start[i] + (int)p;
            Decoded d;
            decode(map + p, hw, l->anchor_grid + 2 * a, &d);
            const float *g = l->anchor_grid + 2 * a;
            float stride = l->anchor_stride[a];
            pred[4 * a] = (g[0] - (float)d.dist[0]) * stride;
            pred[4 * a + 1] = (g[1] - (float)d.dist[1]) * stride;
            pred[4 * a + 2] = (g[0] + (float)d.dist[2]) * stride;
            pred[4 * a + 3] = (g[1] + (float)d.dist[3]) * stride;
        }
    }
    logits.start[l->n_levels] = A;
    TalImage in = {.anchors = A, .anchor_px = l->anchor_px, .stride = l->anchor_stride, .pred_px = pred, .logits = logits,
                   .targets = c->targets, .n_targets = c->n_targets, .image = b, .img_w = l->img_w, .img_h = l->img_h};
    TalResult out = {.fg = l->fg + at, .cls = l->cls + at, .score = l->score + at, .box = l->box + 4 * at, .row = l->row + at};
    l->image_fg[b] = tal_assign(&in, &l->tal[b], &out);

    // Ultralytics computes CIoU's alpha under no_grad; from the same outputs evaluate would get
    // the same value, and keeping it here holds it fixed when evaluate sees perturbed outputs.
    double score_sum = 0.0;
    for (int i = 0; i < l->n_levels; i++) {
        int64_t hw = (int64_t)l->level_h[i] * l->level_w[i];
        const float *map = image_map(l, c->outputs[i], b, i);
        for (int64_t p = 0; p < hw; p++) {
            int a = l->level_start[i] + (int)p;
            score_sum += out.score[a];
            if (!out.fg[a]) continue;
            Decoded d;
            decode(map + p, hw, l->anchor_grid + 2 * a, &d);
            const float *t = out.box + 4 * a;
            double target[4] = {t[0], t[1], t[2], t[3]};
            l->alpha[at + a] = ciou_alpha(d.box, target);
        }
    }
    l->image_score_sum[b] = score_sum;
}

static void assign_images(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    for (int64_t b = begin; b < end; b++) assign_image(ctx, (int)b);
}

int detect_loss_assign(DetectLoss *l, const Tensor *const *outputs, const float *targets, int n_targets) {
    l->assigned = false;
    TRY(set_shapes(l, outputs));
    TRY(check_targets(l, targets, n_targets));
    AssignCtx c = {l, outputs, targets, n_targets};
    run_images(l, assign_images, &c);
    l->assigned = true;
    return 0;
}

// ---- evaluate ----

typedef struct {
    DetectLoss *l;
    const Tensor *const *outputs;
    Tensor *const *grads;
    double cls_scale, box_scale, dfl_scale; // d(batch * total) / d(sum of each part's terms)
} EvalCtx;

// BCE with logits over one image's class channels, summed; with grads, (sigmoid(x) - t) scaled.
static double class_loss(const EvalCtx *c, int b, const float *map, float *grad, int level) {
    const DetectLoss *l = c->l;
    int64_t hw = (int64_t)l->level_h[level] * l->level_w[level];
    int64_t at = (int64_t)b * l->anchors + l->level_start[level];
    double sum = 0.0;
    for (int k = 0; k < l->nc; k++) {
        const float *x = map + (int64_t)(BOX_CHANNELS + k) * hw;
        float *g = grad ? grad + (int64_t)(BOX_CHANNELS + k) * hw : NULL;
        for (int64_t p = 0; p < hw; p++) {
            float t = l->cls[at + p] == k ? l->score[at + p] : 0.0f;
            // max(x, 0) - x t + log(1 + exp(-|x|)): the stable form of PyTorch's BCE with logits.
            float e = expf(-fabsf(x[p]));
            sum += (double)(fmaxf(x[p], 0.0f) - x[p] * t + log1pf(e));
            if (g) {
                float sigmoid = x[p] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
                g[p] = (float)((sigmoid - t) * c->cls_scale);
            }
        }
    }
    return sum;
}

// One foreground anchor: adds its weighted 1 - CIoU and DFL terms to sums[0] and sums[2] and,
// with grad, writes the gradient of its 64 box logits. The box is the DFL expectation put
// through dist2bbox; the gradient runs back through CIoU (alpha fixed), dist2bbox and the
// softmax, and adds DFL's cross-entropy gradient on the two bins around each target distance.
static void box_loss(const EvalCtx *c, const float *z, float *grad, int64_t hw, int a, int64_t at, double sums[3]) {
    const DetectLoss *l = c->l;
    const float *anchor = l->anchor_grid + 2 * a, *tbox = l->box + 4 * at;
    Decoded d;
    decode(z, hw, anchor, &d);
    double target[4] = {tbox[0], tbox[1], tbox[2], tbox[3]};
    double weight = l->score[at], d_box[4];
    double ciou = ciou_fixed_alpha(d.box, target, l->alpha[at], grad ? d_box : NULL);
    sums[0] += (1.0 - ciou) * weight;

    // bbox2dist in float32: anchor to the target's sides, clamped to [0, 14.99].
    float tdist[4] = {anchor[0] - tbox[0], anchor[1] - tbox[1], tbox[2] - anchor[0], tbox[3] - anchor[1]};
    int left[4];
    float wl[4], wr[4];
    double dfl = 0.0;
    for (int s = 0; s < 4; s++) {
        float t = fminf(fmaxf(tdist[s], 0.0f), DFL_TARGET_MAX);
        left[s] = (int)t;
        wl[s] = (float)(left[s] + 1) - t;
        wr[s] = 1.0f - wl[s];
        const float *zs = z + s * DETECT_REG_MAX * hw;
        dfl += (d.lse[s] - zs[left[s] * hw]) * wl[s] + (d.lse[s] - zs[(left[s] + 1) * hw]) * wr[s];
    }
    sums[2] += dfl / 4.0 * weight;
    if (!grad) return;

    // x1 = ax - l, y1 = ay - t, x2 = ax + r, y2 = ay + b; d dist / d logit_j = p_j (j - dist).
    double g_ciou = -c->box_scale * weight, g_dfl = c->dfl_scale * weight / 4.0;
    double d_dist[4] = {-g_ciou * d_box[0], -g_ciou * d_box[1], g_ciou * d_box[2], g_ciou * d_box[3]};
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < DETECT_REG_MAX; j++) {
            double p = d.prob[s][j];
            double ce = p * ((double)wl[s] + wr[s]) - (j == left[s] ? wl[s] : 0.0) - (j == left[s] + 1 ? wr[s] : 0.0);
            grad[(s * DETECT_REG_MAX + j) * hw] = (float)(d_dist[s] * p * (j - d.dist[s]) + g_dfl * ce);
        }
}

static void evaluate_image(const EvalCtx *c, int b) {
    const DetectLoss *l = c->l;
    double sums[3] = {0.0, 0.0, 0.0}; // box, cls, dfl
    for (int i = 0; i < l->n_levels; i++) {
        int64_t hw = (int64_t)l->level_h[i] * l->level_w[i], size = (int64_t)(BOX_CHANNELS + l->nc) * hw;
        const float *map = image_map(l, c->outputs[i], b, i);
        float *grad = c->grads ? c->grads[i]->data + b * size : NULL;
        sums[1] += class_loss(c, b, map, grad, i);
        for (int64_t p = 0; p < hw; p++) {
            int a = l->level_start[i] + (int)p;
            int64_t at = (int64_t)b * l->anchors + a;
            if (l->fg[at]) box_loss(c, map + p, grad ? grad + p : NULL, hw, a, at, sums);
            else if (grad)
                for (int k = 0; k < BOX_CHANNELS; k++) grad[k * hw + p] = 0.0f;
        }
    }
    memcpy(l->image_sums + 3 * b, sums, sizeof sums);
}

static void evaluate_images(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    for (int64_t b = begin; b < end; b++) evaluate_image(ctx, (int)b);
}

int detect_loss_evaluate(DetectLoss *l, const Tensor *const *outputs, Tensor *const *grads, DetectLossParts *parts) {
    if (!l->assigned) return yolo_fail("detect loss: evaluate needs a successful assign first");
    TRY(check_maps(l, outputs, "output", l->batch, l->level_h, l->level_w));
    if (grads) TRY(check_maps(l, (const Tensor *const *)grads, "gradient", l->batch, l->level_h, l->level_w));

    // target_scores_sum = max(sum of all target scores, 1), summed image by image.
    double score_sum = 0.0;
    int fg = 0;
    for (int b = 0; b < l->batch; b++) {
        score_sum += l->image_score_sum[b];
        fg += l->image_fg[b];
    }
    double norm = fmax(score_sum, 1.0), batch = l->batch;
    EvalCtx c = {l, outputs, grads, batch * l->gains.cls / norm, batch * l->gains.box / norm, batch * l->gains.dfl / norm};
    run_images(l, evaluate_images, &c);
    double sums[3] = {0.0, 0.0, 0.0};
    for (int b = 0; b < l->batch; b++)
        for (int k = 0; k < 3; k++) sums[k] += l->image_sums[3 * b + k];
    parts->box = l->gains.box * sums[0] / norm;
    parts->cls = l->gains.cls * sums[1] / norm;
    parts->dfl = l->gains.dfl * sums[2] / norm;
    parts->fg_anchors = fg;
    if (!isfinite(parts->box) || !isfinite(parts->cls) || !isfinite(parts->dfl))
        return yolo_fail("detect loss is not finite (box %g, cls %g, dfl %g): the network's outputs overflowed or are NaN; "
                         "a lower lr0 or warmup usually prevents it",
                         parts->box, parts->cls, parts->dfl);
    return 0;
}

int detect_loss_compute(DetectLoss *l, const Tensor *const *outputs, const float *targets, int n_targets,
                        Tensor *const *grads, DetectLossParts *parts) {
    TRY(detect_loss_assign(l, outputs, targets, n_targets));
    return detect_loss_evaluate(l, outputs, grads, parts);
}

const uint8_t *detect_loss_fg_mask(const DetectLoss *l) { return l->fg; }
const int32_t *detect_loss_target_class(const DetectLoss *l) { return l->cls; }
const float *detect_loss_target_score(const DetectLoss *l) { return l->score; }
const int32_t *detect_loss_target_row(const DetectLoss *l) { return l->row; }
const float *detect_loss_target_box(const DetectLoss *l) { return l->box; }
int detect_loss_batch(const DetectLoss *l) { return l->batch; }
int detect_loss_anchors(const DetectLoss *l) { return l->anchors; }
