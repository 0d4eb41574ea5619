// Non-maximum suppression as ultralytics.utils.ops.non_max_suppression (8.3.127) with
// torchvision.ops.nms (0.14) on the CPU computes it, to the bit: the same candidate rows in the
// same order, the same order among equal scores, and the same float32 arithmetic for the
// class-offset boxes and their IoU.
#include <string.h>

#include "core/status.h"
#include "tasks/detect/metrics.h"

// Ultralytics' max_wh: boxes of class c move by c * 7680 pixels, so that one greedy pass never
// lets two classes suppress each other.
static const float CLASS_OFFSET = 7680.0f;
// Ultralytics' max_nms, used when NmsOptions.max_nms is 0.
enum { DEFAULT_MAX_NMS = 30000 };

// ---- The two sorts ---------------------------------------------------------------------------
// Ultralytics sorts the rows twice, differently. Above max_nms rows it keeps the top max_nms by
// x[:, 4].argsort(descending=True): torch's sort without stable=True, which on the CPU (torch
// 1.13) is libstdc++'s std::sort of (score, index) pairs comparing scores alone. Then
// torchvision.ops.nms (0.14, CPU) orders its input with a stable sort by score. Equal scores are
// common (saturated sigmoids, and plain coincidence among hundreds of thousands of float32
// scores), and their order decides which of two tied, overlapping boxes survives, so both sorts
// are reproduced: std::sort step for step (introsort with the median of first + 1, middle and
// last - 1 as pivot, heap sort below a depth of 2 floor(log2 n), a final insertion sort over
// blocks of 16), and the stable sort as the same algorithm under a total order (score, then row
// position), which any correct sort leaves in the stable order. Neither allocates.

typedef int (*RowOrder)(const Detection *a, const Detection *b);

// torch's comparator for descending order: the score alone.
static int higher_score(const Detection *a, const Detection *b) { return a->score > b->score; }

// The stable order: equal scores keep the rows' order of creation, anchors ascending and then
// classes ascending (see gather_rows).
static int higher_score_then_row(const Detection *a, const Detection *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->anchor != b->anchor) return a->anchor < b->anchor;
    return a->cls < b->cls;
}

enum { SORT_THRESHOLD = 16 }; // libstdc++'s _S_threshold

static inline void swap_rows(Detection *a, Detection *b) {
    Detection t = *a;
    *a = *b;
    *b = t;
}

static void move_median_to_first(Detection *result, Detection *a, Detection *b, Detection *c, RowOrder less) {
    if (less(a, b)) {
        if (less(b, c)) swap_rows(result, b);
        else if (less(a, c)) swap_rows(result, c);
        else swap_rows(result, a);
    } else if (less(a, c)) swap_rows(result, a);
    else if (less(b, c)) swap_rows(result, c);
    else swap_rows(result, b);
}

// Partitions [first, last) around *pivot, which lies just before first.
static Detection *unguarded_partition(Detection *first, Detection *last, const Detection *pivot, RowOrder less) {
    for (;;) {
        while (less(first, pivot)) first++;
        last--;
        while (less(pivot, last)) last--;
        if (!(first < last)) return first;
        swap_rows(first, last);
        first++;
    }
}

static void push_heap(Detection *first, ptrdiff_t hole, ptrdiff_t top, Detection value, RowOrder less) {
    ptrdiff_t parent = (hole - 1) / 2;
    while (hole > top && less(&first[parent], &value)) {
        first[hole] = first[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    first[hole] = value;
}

static void adjust_heap(Detection *first, ptrdiff_t hole, ptrdiff_t len, Detection value, RowOrder less) {
    const ptrdiff_t top = hole;
    ptrdiff_t child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (less(&first[child], &first[child - 1])) child--;
        first[hole] = first[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        first[hole] = first[child - 1];
        hole = child - 1;
    }
    push_heap(first, hole, top, value, less);
}

// std::__partial_sort(first, last, last): make_heap, then sort_heap.
static void heap_sort(Detection *first, Detection *last, RowOrder less) {
    const ptrdiff_t len = last - first;
    if (len >= 2) {
        for (ptrdiff_t parent = (len - 2) / 2;; parent--) {
            adjust_heap(first, parent, len, first[parent], less);
            if (parent == 0) break;
        }
    }
    while (last - first > 1) {
        last--;
        Detection value = *last;
        *last = *first;
        adjust_heap(first, 0, last - first, value, less);
    }
}

static void introsort_loop(Detection *first, Detection *last, int depth_limit, RowOrder less) {
    while (last - first > SORT_THRESHOLD) {
        if (depth_limit == 0) {
            heap_sort(first, last, less);
            return;
        }
        depth_limit--;
        move_median_to_first(first, first + 1, first + (last - first) / 2, last - 1, less);
        Detection *cut = unguarded_partition(first + 1, last, first, less);
        introsort_loop(cut, last, depth_limit, less);
        last = cut;
    }
}

// Inserts *last into the sorted run before it; something no later than it lies before the run.
static void unguarded_linear_insert(Detection *last, RowOrder less) {
    Detection value = *last;
    Detection *next = last - 1;
    while (less(&value, next)) {
        *last = *next;
        last = next;
        next--;
    }
    *last = value;
}

static void insertion_sort(Detection *first, Detection *last, RowOrder less) {
    if (first == last) return;
    for (Detection *i = first + 1; i != last; i++) {
        if (less(i, first)) {
            Detection value = *i;
            memmove(first + 1, first, (size_t)(i - first) * sizeof *first);
            *first = value;
        } else {
            unguarded_linear_insert(i, less);
        }
    }
}

// std::sort(rows, rows + n, less)
static void std_sort(Detection *rows, size_t n, RowOrder less) {
    if (n == 0) return;
    int lg = 0; // std::__lg: floor(log2 n)
    while ((n >> (lg + 1)) != 0) lg++;
    introsort_loop(rows, rows + n, 2 * lg, less);
    if (n > SORT_THRESHOLD) {
        insertion_sort(rows, rows + SORT_THRESHOLD, less);
        for (Detection *i = rows + SORT_THRESHOLD; i != rows + n; i++) unguarded_linear_insert(i, less);
    } else {
        insertion_sort(rows, rows + n, less);
    }
}

// ---- NMS ------------------------------------------------------------------------------------

size_t nms_scratch_bytes(int anchors, int nc) {
    if (anchors <= 0 || nc <= 0) return 0;
    // Per row (anchor, class): the row, its class-offset box and area, its suppressed flag.
    return (size_t)anchors * (size_t)nc * (sizeof(Detection) + 5 * sizeof(float) + 1);
}

static int wanted_class(const NmsOptions *opt, int cls) {
    if (!opt->classes) return 1;
    for (int i = 0; i < opt->n_classes; i++)
        if (opt->classes[i] == cls) return 1;
    return 0;
}

static int check_options(int anchors, int nc, const NmsOptions *opt) {
    if (anchors < 0 || nc < 1) return yolo_fail("nms: %d anchors and %d classes (need anchors >= 0, nc >= 1)", anchors, nc);
    if (!(opt->conf >= 0.0f && opt->conf <= 1.0f)) return yolo_fail("nms: conf %g is outside [0, 1]", (double)opt->conf);
    if (!(opt->iou >= 0.0 && opt->iou <= 1.0)) return yolo_fail("nms: iou %g is outside [0, 1]", opt->iou);
    if (opt->max_det < 1) return yolo_fail("nms: max_det %d must be >= 1 (Ultralytics: 300)", opt->max_det);
    if (opt->max_nms < 0) return yolo_fail("nms: max_nms %d must be >= 0 (0: Ultralytics' 30000)", opt->max_nms);
    if (opt->classes && opt->n_classes < 0) return yolo_fail("nms: %d classes in the class filter", opt->n_classes);
    return 0;
}

static size_t add_row(const float box[4], const float *scores, int cls, int anchor, const NmsOptions *opt,
                      Detection *rows, size_t n) {
    // A Python float threshold meets a float32 tensor as float32.
    if (!(scores[cls] > opt->conf) || !wanted_class(opt, cls)) return n;
    Detection *r = &rows[n];
    memcpy(r->box, box, sizeof r->box);
    r->score = scores[cls];
    r->cls = cls;
    r->anchor = anchor;
    return n + 1;
}

// Candidate rows in Ultralytics' order: anchors ascending and, within an anchor, classes
// ascending (torch.where over [anchors, nc]); in single-label mode the first best class only.
static size_t gather_rows(const float *decoded, int anchors, int nc, const NmsOptions *opt, Detection *rows) {
    const bool multi_label = opt->multi_label && nc > 1;
    size_t n = 0;
    for (int a = 0; a < anchors; a++) {
        const float *p = decoded + (size_t)a * (size_t)(4 + nc);
        const float *scores = p + 4;
        // xywh2xyxy in float32: half sizes first, then centre -/+ half.
        const float hw = p[2] / 2, hh = p[3] / 2;
        const float box[4] = {p[0] - hw, p[1] - hh, p[0] + hw, p[1] + hh};
        if (multi_label) {
            for (int c = 0; c < nc; c++) n = add_row(box, scores, c, a, opt, rows, n);
        } else {
            int best = 0; // torch's max(1) returns the first index of the maximum
            for (int c = 1; c < nc; c++)
                if (scores[c] > scores[best]) best = c;
            n = add_row(box, scores, best, a, opt, rows, n);
        }
    }
    return n;
}

int nms(const float *decoded, int anchors, int nc, const NmsOptions *opt, void *scratch, Detection *out) {
    TRY(check_options(anchors, nc, opt));
    const size_t cap = (size_t)anchors * (size_t)nc;
    Detection *rows = scratch;
    float *oboxes = (float *)(rows + cap); // [cap][4]
    float *areas = oboxes + 4 * cap;
    unsigned char *suppressed = (unsigned char *)(areas + cap);

    const size_t max_nms = (size_t)(opt->max_nms ? opt->max_nms : DEFAULT_MAX_NMS);
    size_t n = gather_rows(decoded, anchors, nc, opt, rows);
    if (n > max_nms) {
        std_sort(rows, n, higher_score);
        n = max_nms; // already by score: torchvision's stable sort keeps this order
    } else {
        std_sort(rows, n, higher_score_then_row);
    }

    // torchvision computes IoU on the offset boxes in float32 (offsetting rounds coordinates).
    for (size_t i = 0; i < n; i++) {
        const float off = opt->agnostic ? 0.0f : (float)rows[i].cls * CLASS_OFFSET;
        float *b = oboxes + 4 * i;
        for (int k = 0; k < 4; k++) b[k] = rows[i].box[k] + off;
        areas[i] = (b[2] - b[0]) * (b[3] - b[1]);
        suppressed[i] = 0;
    }

    // Greedy pass in score order. A box is kept or suppressed by the kept boxes before it only,
    // so stopping after max_det kept ones gives torchvision's first max_det.
    int kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (suppressed[i]) continue;
        out[kept++] = rows[i];
        if (kept == opt->max_det) break;
        const float *bi = oboxes + 4 * i;
        for (size_t j = i + 1; j < n; j++) {
            if (suppressed[j]) continue;
            const float *bj = oboxes + 4 * j;
            // std::max / std::min as torchvision writes them.
            const float xx1 = bi[0] < bj[0] ? bj[0] : bi[0];
            const float yy1 = bi[1] < bj[1] ? bj[1] : bi[1];
            const float xx2 = bj[2] < bi[2] ? bj[2] : bi[2];
            const float yy2 = bj[3] < bi[3] ? bj[3] : bi[3];
            const float w = 0.0f < xx2 - xx1 ? xx2 - xx1 : 0.0f;
            const float h = 0.0f < yy2 - yy1 ? yy2 - yy1 : 0.0f;
            const float inter = w * h;
            const float ovr = inter / (areas[i] + areas[j] - inter);
            // float IoU against the double threshold, as in torchvision's kernel.
            if ((double)ovr > opt->iou) suppressed[j] = 1;
        }
    }
    return kept;
}
