// Detection metrics as Ultralytics 8.3.127 computes them: DetectionValidator._process_batch and
// match_predictions per image, ap_per_class / compute_ap / smooth at the end. numpy's exact
// arithmetic is followed where it is cheap to (np.interp's search and formula, np.linspace,
// np.trapz, the pairwise summation behind sum and mean), so the results agree to the last bit or
// nearly; the places where they may not are named where they occur.
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tasks/detect/metrics.h"

enum {
    CURVE_POINTS = DET_CURVE_POINTS, // x = linspace(0, 1, 1000) of the P, R and F1 curves
    AP_POINTS = 101,     // COCO's 101-point interpolation
    // smooth(y, 0.1): nf = round(1000 * 0.1 * 2) // 2 + 1 taps, nf // 2 of padding on each side.
    SMOOTH_TAPS = 101,
    SMOOTH_PAD = SMOOTH_TAPS / 2,
};

// torch.linspace(0.5, 0.95, 10) in float32, as the validator's iouv; numpy compares the float32
// IoU matrix with these values in float32.
static float iou_threshold(int t) { return (float)(0.5 + 0.05 * t); }

struct DetMetrics {
    int nc, seen;
    // Every detection added, in order (Ultralytics' stats["conf"], ["pred_cls"], ["tp"]).
    float *conf;
    int *cls;
    uint16_t *tp;
    int n, cap;
    // Per class: instances (np.bincount of target_cls) and images containing the class
    // (np.bincount of target_img, the unique classes of each image); last_image dedupes.
    int *instances, *images, *last_image;
    // Per GT of the current image: thresholds at which it is already matched (bit t).
    uint16_t *taken;
    int taken_cap;
};

static int reserve_detections(DetMetrics *m, int more) {
    if (more > INT_MAX - m->n) return yolo_fail("det_metrics_add: more than %d detections in one run", INT_MAX);
    if (m->n + more <= m->cap) return 0;
    int cap = m->cap ? m->cap : 1024;
    while (cap < m->n + more) cap = cap > INT_MAX / 2 ? INT_MAX : 2 * cap;
    float *conf = realloc(m->conf, (size_t)cap * sizeof *conf);
    if (conf) m->conf = conf;
    int *cls = realloc(m->cls, (size_t)cap * sizeof *cls);
    if (cls) m->cls = cls;
    uint16_t *tp = realloc(m->tp, (size_t)cap * sizeof *tp);
    if (tp) m->tp = tp;
    if (!conf || !cls || !tp) return yolo_fail("out of memory storing %d detections for the metrics", cap);
    m->cap = cap;
    return 0;
}

DetMetrics *det_metrics_create(int nc) {
    if (nc < 1) {
        yolo_fail("det_metrics_create: nc %d must be >= 1", nc);
        return NULL;
    }
    DetMetrics *m = calloc(1, sizeof *m);
    if (!m) {
        yolo_fail("out of memory creating the detection metrics");
        return NULL;
    }
    m->nc = nc;
    m->instances = calloc((size_t)nc, sizeof *m->instances);
    m->images = calloc((size_t)nc, sizeof *m->images);
    m->last_image = malloc((size_t)nc * sizeof *m->last_image);
    m->taken_cap = 64;
    m->taken = malloc((size_t)m->taken_cap * sizeof *m->taken);
    if (!m->instances || !m->images || !m->last_image || !m->taken || reserve_detections(m, 1) != 0) {
        det_metrics_destroy(m);
        yolo_fail("out of memory creating the detection metrics for %d classes", nc);
        return NULL;
    }
    for (int c = 0; c < nc; c++) m->last_image[c] = -1;
    return m;
}

void det_metrics_destroy(DetMetrics *m) {
    if (!m) return;
    free(m->conf);
    free(m->cls);
    free(m->tp);
    free(m->instances);
    free(m->images);
    free(m->last_image);
    free(m->taken);
    free(m);
}

const uint16_t *det_metrics_tp(const DetMetrics *m, int *count) {
    *count = m->n;
    return m->tp;
}

// ultralytics.utils.metrics.box_iou in float32, GT first: inter / (area_gt + area_det - inter + eps).
float det_box_iou(const float *g, const float *d) {
    const float w = (g[2] < d[2] ? g[2] : d[2]) - (g[0] > d[0] ? g[0] : d[0]);
    const float h = (g[3] < d[3] ? g[3] : d[3]) - (g[1] > d[1] ? g[1] : d[1]);
    const float inter = (w > 0.0f ? w : 0.0f) * (h > 0.0f ? h : 0.0f);
    const float area_g = (g[2] - g[0]) * (g[3] - g[1]);
    const float area_d = (d[2] - d[0]) * (d[3] - d[1]);
    return inter / (area_g + area_d - inter + 1e-7f);
}

// match_predictions, one threshold t: the pairs (gt, det) of one class with IoU >= t are sorted by
// IoU descending; np.unique on the detection keeps each detection's first pair (its best GT), and
// np.unique on the GT then keeps, of those, the pair with the lowest detection index. Since a
// detection's best GT does not depend on t, this is: walk the detections in index order; each
// takes its best GT at t unless a lower index took it already. Two GTs at exactly the same best
// IoU: the later GT, because numpy's argsort leaves equal IoUs in index order (insertion sort,
// stable, below 17 pairs) and [::-1] reverses them; above 16 pairs numpy's introsort order is
// unspecified and the same rule is kept. The IoU is box IoU, or iou[g * n_dets + d] when given.
static void match_image(DetMetrics *m, const Detection *dets, int n_dets, const float *gt_boxes, const float *iou_given,
                        const int *gt_cls, int n_gt, uint16_t *tp) {
    memset(m->taken, 0, (size_t)n_gt * sizeof *m->taken);
    for (int d = 0; d < n_dets; d++) {
        int best = -1;
        float best_iou = 0.0f;
        for (int g = 0; g < n_gt; g++) {
            if (gt_cls[g] != dets[d].cls) continue; // iou * correct_class
            const float iou = iou_given ? iou_given[(int64_t)g * n_dets + d] : det_box_iou(gt_boxes + 4 * g, dets[d].box);
            if (best < 0 || iou >= best_iou) best = g, best_iou = iou;
        }
        uint16_t bits = 0;
        for (int t = 0; best >= 0 && t < IOU_THRESHOLDS; t++)
            if (best_iou >= iou_threshold(t) && !(m->taken[best] & (1u << t))) bits |= (uint16_t)(1u << t);
        if (best >= 0) m->taken[best] |= bits;
        tp[d] = bits;
    }
}

static int add_image(DetMetrics *m, const Detection *dets, int n_dets, const float *gt_boxes, const float *iou,
                     const int *gt_cls, int n_gt) {
    if (n_dets < 0 || n_gt < 0) return yolo_fail("det_metrics_add: %d detections and %d labels", n_dets, n_gt);
    for (int d = 0; d < n_dets; d++) {
        if (dets[d].cls < 0 || dets[d].cls >= m->nc)
            return yolo_fail("det_metrics_add: detection %d has class %d, outside [0, %d)", d, dets[d].cls, m->nc);
        // The final sort by confidence needs an order; NMS never gives NaN.
        if (isnan(dets[d].score)) return yolo_fail("det_metrics_add: detection %d has a NaN score", d);
    }
    for (int g = 0; g < n_gt; g++)
        if (gt_cls[g] < 0 || gt_cls[g] >= m->nc)
            return yolo_fail("det_metrics_add: label %d has class %d, outside [0, %d)", g, gt_cls[g], m->nc);
    TRY(reserve_detections(m, n_dets));
    if (n_gt > m->taken_cap) {
        uint16_t *taken = realloc(m->taken, (size_t)n_gt * sizeof *taken);
        mallocCheck(taken);
        m->taken = taken;
        m->taken_cap = n_gt;
    }

    // Ultralytics leaves TP all false when the image has no labels; match_image does too.
    match_image(m, dets, n_dets, gt_boxes, iou, gt_cls, n_gt, m->tp + m->n);
    for (int d = 0; d < n_dets; d++) {
        m->conf[m->n + d] = dets[d].score;
        m->cls[m->n + d] = dets[d].cls;
    }
    m->n += n_dets;
    for (int g = 0; g < n_gt; g++) {
        const int c = gt_cls[g];
        m->instances[c]++;
        if (m->last_image[c] != m->seen) m->last_image[c] = m->seen, m->images[c]++;
    }
    m->seen++;
    return 0;
}

int det_metrics_add(DetMetrics *m, const Detection *dets, int n_dets, const float *gt_boxes, const int *gt_cls, int n_gt) {
    return add_image(m, dets, n_dets, gt_boxes, NULL, gt_cls, n_gt);
}

int det_metrics_add_iou(DetMetrics *m, const Detection *dets, int n_dets, const float *iou, const int *gt_cls, int n_gt) {
    if (n_dets > 0 && n_gt > 0 && !iou) return yolo_fail("det_metrics_add_iou: no IoU matrix for %d labels x %d detections", n_gt, n_dets);
    return add_image(m, dets, n_dets, NULL, iou, gt_cls, n_gt);
}

// ---- numpy, operation for operation ---------------------------------------------------------

// np.linspace(0, 1, n)[k]: k * (1 / (n - 1)), with the end point set to exactly 1.
static double linspace01(int k, int n) { return k == n - 1 ? 1.0 : (double)k * (1.0 / (double)(n - 1)); }

// np.add.reduce over a contiguous float64 array: pairwise summation with 8 accumulators in
// blocks of up to 128, added to the identity 0 (numpy's pairwise_sum_DOUBLE).
static double np_sum(const double *a, size_t n) {
    if (n < 8) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        size_t i;
        for (i = 8; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + (size_t)j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_sum(a, n2) + np_sum(a + n2, n - n2);
}

// np.interp(x, xp, fp, left, right) for non-decreasing xp (n >= 1): j is the last index with
// xp[j] <= x (numpy's binary_search_with_guess; with repeated xp values the last of them), and
// the value slope * (x - xp[j]) + fp[j], or fp[j] at the last point. (numpy returns fp[j] at an
// exact hit to avoid inf * 0; here xp[j + 1] > xp[j] keeps the slope finite, and slope * 0 +
// fp[j] is fp[j].)
static double np_interp(double x, const double *xp, const double *fp, size_t n, double left, double right) {
    if (x < xp[0]) return left;
    if (x > xp[n - 1]) return right;
    size_t lo = 0, hi = n; // first index with xp > x
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (x >= xp[mid]) lo = mid + 1;
        else hi = mid;
    }
    const size_t j = lo - 1;
    if (j == n - 1) return fp[j];
    const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    return slope * (x - xp[j]) + fp[j];
}

// compute_ap with the 'interp' method. mrec and mpre hold n + 2 values: the sentinels 0 / 1 at
// the start and 1 / 0 at the end around the recall and precision of one class and threshold.
// Turns mpre into its envelope, then integrates np.interp at 101 points with np.trapz.
static double compute_ap(const double *mrec, double *mpre, size_t n) {
    for (size_t i = n + 1; i-- > 0;) // np.flip(np.maximum.accumulate(np.flip(mpre)))
        if (mpre[i + 1] > mpre[i]) mpre[i] = mpre[i + 1];
    double y[AP_POINTS], area[AP_POINTS - 1];
    for (int k = 0; k < AP_POINTS; k++) y[k] = np_interp(linspace01(k, AP_POINTS), mrec, mpre, n + 2, mpre[0], mpre[n + 1]);
    // np.trapz(y, x): (diff(x) * (y[1:] + y[:-1]) / 2.0).sum()
    for (int k = 0; k < AP_POINTS - 1; k++)
        area[k] = (linspace01(k + 1, AP_POINTS) - linspace01(k, AP_POINTS)) * (y[k + 1] + y[k]) / 2.0;
    return np_sum(area, AP_POINTS - 1);
}

// ---- ap_per_class -----------------------------------------------------------------------------

typedef struct {
    float conf;
    int index;
} Ranked;

// Confidence descending, ties in the order added. Ultralytics uses np.argsort(-conf), numpy's
// unstable quicksort: with equal confidences within a class its order, and so AP, depends on
// numpy's version; ours is the stable order.
static int by_conf(const void *pa, const void *pb) {
    const Ranked *a = pa, *b = pb;
    if (a->conf != b->conf) return a->conf > b->conf ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

typedef struct {
    int *order;             // detection indices by class, each class by confidence descending
    int *start;             // [nc + 1]: class c occupies order[start[c] .. start[c + 1])
    double *neg_conf;       // -conf of one class (np.interp needs increasing xp)
    double *mrec, *mpre;    // [n_p + 2] for compute_ap
    int *with_labels;          // the classes with labels (Ultralytics' ap_class_index)
    double *scratch;           // [nc][10], for the means
} Work;

static void work_free(Work *w) {
    free(w->order);
    free(w->start);
    free(w->neg_conf);
    free(w->mrec);
    free(w->mpre);
    free(w->with_labels);
    free(w->scratch);
}

// Sorts all detections by confidence and groups them by class, keeping that order inside a class.
static int rank_by_class(const DetMetrics *m, Work *w, int *max_per_class) {
    const size_t n = (size_t)m->n;
    Ranked *ranked = malloc((n ? n : 1) * sizeof *ranked);
    w->order = malloc((n ? n : 1) * sizeof *w->order);
    w->start = calloc((size_t)m->nc + 1, sizeof *w->start);
    if (!ranked || !w->order || !w->start) {
        free(ranked);
        return yolo_fail("out of memory sorting %zu detections for the metrics", n);
    }
    for (size_t i = 0; i < n; i++) ranked[i] = (Ranked){m->conf[i], (int)i};
    qsort(ranked, n, sizeof *ranked, by_conf);
    // Counting sort by class: counts, then starts (prefix sums).
    for (size_t i = 0; i < n; i++) w->start[m->cls[i] + 1]++;
    for (int c = 0; c < m->nc; c++) {
        if (w->start[c + 1] > *max_per_class) *max_per_class = w->start[c + 1];
        w->start[c + 1] += w->start[c];
    }
    // start[c] serves as class c's write cursor, which leaves it at the start of class c + 1;
    // moving every entry up by one restores the starts.
    for (size_t i = 0; i < n; i++) w->order[w->start[m->cls[ranked[i].index]]++] = ranked[i].index;
    for (int c = m->nc; c > 0; c--) w->start[c] = w->start[c - 1];
    w->start[0] = 0;
    free(ranked);
    return 0;
}

// One class with labels and detections: AP at every threshold, and at threshold 0.50 the P and R
// curves over 1000 confidences and the precision envelope over 1000 recalls.
static void class_ap(const DetMetrics *m, Work *w, int c, double *ap, double *p_curve, double *r_curve, double *pr_curve) {
    const int *idx = w->order + w->start[c];
    const size_t n_p = (size_t)(w->start[c + 1] - w->start[c]);
    const double n_l = (double)m->instances[c] + 1e-16; // recall = tpc / (n_l + eps)
    for (size_t k = 0; k < n_p; k++) w->neg_conf[k] = -(double)m->conf[idx[k]];
    for (int t = 0; t < IOU_THRESHOLDS; t++) {
        // recall and precision go straight into compute_ap's arrays, after the leading sentinel.
        double *recall = w->mrec + 1, *precision = w->mpre + 1;
        int64_t tpc = 0;
        for (size_t k = 0; k < n_p; k++) {
            tpc += (m->tp[idx[k]] >> t) & 1;
            recall[k] = (double)tpc / n_l;
            precision[k] = (double)tpc / (double)(k + 1); // tpc / (tpc + fpc)
        }
        if (t == 0) {
            // r = interp(-x, -conf, recall, left=0), p likewise with left=1; right: the last value.
            for (int q = 0; q < CURVE_POINTS; q++) {
                const double x = -linspace01(q, CURVE_POINTS);
                r_curve[q] = np_interp(x, w->neg_conf, recall, n_p, 0.0, recall[n_p - 1]);
                p_curve[q] = np_interp(x, w->neg_conf, precision, n_p, 1.0, precision[n_p - 1]);
            }
        }
        w->mrec[0] = 0.0, w->mrec[n_p + 1] = 1.0;
        w->mpre[0] = 1.0, w->mpre[n_p + 1] = 0.0;
        ap[t] = compute_ap(w->mrec, w->mpre, n_p);
        // np.interp(x, mrec, mpre) with compute_ap's envelope (Ultralytics' prec_values row).
        for (int q = 0; t == 0 && q < CURVE_POINTS; q++)
            pr_curve[q] = np_interp(linspace01(q, CURVE_POINTS), w->mrec, w->mpre, n_p + 2, w->mpre[0], w->mpre[n_p + 1]);
    }
}

// smooth(y, 0.1): y padded with 50 copies of its end values on each side, a 101-tap box filter
// (np.convolve 'valid'). numpy's convolve sums each window with a BLAS dot product whose order
// depends on the BLAS; this sums in index order, so two windows equal to within an ulp could
// compare the other way than in a given numpy install.
void det_curve_smooth(const double *y, double *out) {
    double padded[CURVE_POINTS + 2 * SMOOTH_PAD];
    for (int i = 0; i < SMOOTH_PAD; i++) {
        padded[i] = y[0];
        padded[SMOOTH_PAD + CURVE_POINTS + i] = y[CURVE_POINTS - 1];
    }
    memcpy(padded + SMOOTH_PAD, y, CURVE_POINTS * sizeof *y);
    const double tap = 1.0 / SMOOTH_TAPS; // np.ones(nf) / nf
    for (int i = 0; i < CURVE_POINTS; i++) {
        double s = 0.0;
        for (int k = 0; k < SMOOTH_TAPS; k++) s += padded[i + k] * tap;
        out[i] = s;
    }
}

// smooth(mean F1, 0.1).argmax(): the first maximum.
static int best_f1_index(const double *f1) {
    double smoothed[CURVE_POINTS];
    det_curve_smooth(f1, smoothed);
    int best = 0;
    for (int i = 1; i < CURVE_POINTS; i++)
        if (smoothed[i] > smoothed[best]) best = i;
    return best;
}

static int alloc_summary(DetSummary *s, int nc) {
    const size_t n = (size_t)nc;
    s->images = calloc(n, sizeof *s->images);
    s->instances = calloc(n, sizeof *s->instances);
    s->p = calloc(n, sizeof *s->p);
    s->r = calloc(n, sizeof *s->r);
    s->ap50 = calloc(n, sizeof *s->ap50);
    s->ap = calloc(n, sizeof *s->ap);
    s->ap_iou = calloc(n * IOU_THRESHOLDS, sizeof *s->ap_iou);
    s->p_curve = calloc(n * CURVE_POINTS, sizeof *s->p_curve);
    s->r_curve = calloc(n * CURVE_POINTS, sizeof *s->r_curve);
    s->f1_curve = calloc(n * CURVE_POINTS, sizeof *s->f1_curve);
    s->pr_curve = calloc(n * CURVE_POINTS, sizeof *s->pr_curve);
    s->has_pr = calloc(n, sizeof *s->has_pr);
    if (!s->images || !s->instances || !s->p || !s->r || !s->ap50 || !s->ap || !s->ap_iou || !s->p_curve ||
        !s->r_curve || !s->f1_curve || !s->pr_curve || !s->has_pr)
        return yolo_fail("out of memory summarising the metrics of %d classes", nc);
    return 0;
}

// The means over the classes with labels (Ultralytics' ap_class_index), in class order.
static void summary_means(DetSummary *s, const int *with_labels, int nu, double *scratch) {
    for (int u = 0; u < nu; u++) scratch[u] = s->p[with_labels[u]];
    s->precision = np_sum(scratch, (size_t)nu) / nu;
    for (int u = 0; u < nu; u++) scratch[u] = s->r[with_labels[u]];
    s->recall = np_sum(scratch, (size_t)nu) / nu;
    for (int u = 0; u < nu; u++) scratch[u] = s->ap50[with_labels[u]];
    s->map50 = np_sum(scratch, (size_t)nu) / nu;
    // all_ap.mean(): the [nu][10] matrix flattened
    for (int u = 0; u < nu; u++)
        memcpy(scratch + (size_t)u * IOU_THRESHOLDS, s->ap_iou + (size_t)with_labels[u] * IOU_THRESHOLDS,
               IOU_THRESHOLDS * sizeof *scratch);
    s->map50_95 = np_sum(scratch, (size_t)nu * IOU_THRESHOLDS) / (nu * IOU_THRESHOLDS);
    // Metric.fitness: (mean_results() * [0, 0, 0.1, 0.9]).sum(); the zero terms add nothing.
    s->fitness = 0.1 * s->map50 + 0.9 * s->map50_95;
}

static int summarize(const DetMetrics *m, DetSummary *s, Work *w) {
    TRY(alloc_summary(s, m->nc));
    int max_per_class = 0;
    TRY(rank_by_class(m, w, &max_per_class));
    const size_t nc = (size_t)m->nc, np2 = (size_t)max_per_class + 2;
    w->with_labels = malloc(nc * sizeof *w->with_labels);
    w->scratch = malloc(nc * IOU_THRESHOLDS * sizeof *w->scratch);
    w->neg_conf = malloc(np2 * sizeof *w->neg_conf);
    w->mrec = malloc(np2 * sizeof *w->mrec);
    w->mpre = malloc(np2 * sizeof *w->mpre);
    if (!w->with_labels || !w->scratch || !w->neg_conf || !w->mrec || !w->mpre)
        return yolo_fail("out of memory summarising the metrics of %d classes", m->nc);

    int nu = 0;
    for (int c = 0; c < m->nc; c++) {
        s->images[c] = m->images[c];
        s->instances[c] = m->instances[c];
        if (m->instances[c] == 0) continue; // np.unique(target_cls): classes with labels only
        w->with_labels[nu++] = c;
        // A class without detections keeps AP 0 and P, R and F1 curves of 0.
        if (w->start[c + 1] == w->start[c]) continue;
        double *ap = s->ap_iou + (size_t)c * IOU_THRESHOLDS;
        const size_t row = (size_t)c * CURVE_POINTS;
        class_ap(m, w, c, ap, s->p_curve + row, s->r_curve + row, s->pr_curve + row);
        s->has_pr[c] = 1;
        s->ap50[c] = ap[0];
        s->ap[c] = np_sum(ap, IOU_THRESHOLDS) / IOU_THRESHOLDS; // all_ap.mean(1)
    }
    if (nu == 0) return 0; // no labels: Ultralytics reports zeros

    // f1_curve.mean(0): classes summed in order (an axis-0 reduction adds row by row).
    double f1[CURVE_POINTS];
    for (int q = 0; q < CURVE_POINTS; q++) {
        double sum = 0.0;
        for (int u = 0; u < nu; u++) {
            const size_t at = (size_t)w->with_labels[u] * CURVE_POINTS + (size_t)q;
            const double p = s->p_curve[at], r = s->r_curve[at];
            s->f1_curve[at] = 2 * p * r / (p + r + 1e-16);
            sum += s->f1_curve[at];
        }
        f1[q] = sum / nu;
    }
    const int i = best_f1_index(f1);
    for (int u = 0; u < nu; u++) {
        const size_t c = (size_t)w->with_labels[u];
        s->p[c] = s->p_curve[c * CURVE_POINTS + (size_t)i];
        s->r[c] = s->r_curve[c * CURVE_POINTS + (size_t)i];
    }
    summary_means(s, w->with_labels, nu, w->scratch);
    return 0;
}

int det_metrics_summarize(const DetMetrics *m, DetSummary *out) {
    memset(out, 0, sizeof *out);
    out->nc = m->nc;
    out->seen = m->seen;
    Work w = {0};
    const int rc = summarize(m, out, &w);
    work_free(&w);
    if (rc != 0) det_summary_free(out);
    return rc;
}

void det_summary_free(DetSummary *s) {
    free(s->images);
    free(s->instances);
    free(s->p);
    free(s->r);
    free(s->ap50);
    free(s->ap);
    free(s->ap_iou);
    free(s->p_curve);
    free(s->r_curve);
    free(s->f1_curve);
    free(s->pr_curve);
    free(s->has_pr);
    memset(s, 0, sizeof *s);
}
