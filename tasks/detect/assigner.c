#include "tasks/detect/assigner.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "tasks/detect/ciou.h"

// ---- torch.topk on the CPU (PyTorch 1.13 with libstdc++) ----
// The functions below follow libstdc++'s __heap_select, __adjust_heap, __push_heap,
// __introselect, __move_median_to_first, __unguarded_partition and __insertion_sort with
// iterators turned into indices, because the set of items they leave in front depends on every
// comparison and swap when values are equal.

// PyTorch's comparator for largest=true: NaN counts as the largest value.
static bool before(TopkItem a, TopkItem b) { return (isnan(a.value) && !isnan(b.value)) || a.value > b.value; }

static void swap_items(TopkItem *a, TopkItem *b) {
    TopkItem t = *a;
    *a = *b;
    *b = t;
}

static void push_heap(TopkItem *h, int hole, int top, TopkItem value) {
    int parent = (hole - 1) / 2;
    while (hole > top && before(h[parent], value)) {
        h[hole] = h[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    h[hole] = value;
}

static void adjust_heap(TopkItem *h, int hole, int len, TopkItem value) {
    int top = hole, child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (before(h[child], h[child - 1])) child--;
        h[hole] = h[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        h[hole] = h[child - 1];
        hole = child - 1;
    }
    push_heap(h, hole, top, value);
}

static void make_heap(TopkItem *h, int len) {
    if (len < 2) return;
    for (int parent = (len - 2) / 2;; parent--) {
        adjust_heap(h, parent, len, h[parent]);
        if (parent == 0) return;
    }
}

// Leaves the `middle` items that come first in h[0..middle) (the heap top is the last of them).
static void heap_select(TopkItem *h, int middle, int len) {
    make_heap(h, middle);
    for (int i = middle; i < len; i++)
        if (before(h[i], h[0])) {
            TopkItem value = h[i];
            h[i] = h[0];
            adjust_heap(h, 0, middle, value);
        }
}

static void move_median_to_first(TopkItem *v, int result, int a, int b, int c) {
    if (before(v[a], v[b])) {
        if (before(v[b], v[c])) swap_items(&v[result], &v[b]);
        else if (before(v[a], v[c])) swap_items(&v[result], &v[c]);
        else swap_items(&v[result], &v[a]);
    } else if (before(v[a], v[c])) swap_items(&v[result], &v[a]);
    else if (before(v[b], v[c])) swap_items(&v[result], &v[c]);
    else swap_items(&v[result], &v[b]);
}

static int unguarded_partition(TopkItem *v, int first, int last, int pivot) {
    for (;;) {
        while (before(v[first], v[pivot])) first++;
        last--;
        while (before(v[pivot], v[last])) last--;
        if (!(first < last)) return first;
        swap_items(&v[first], &v[last]);
        first++;
    }
}

static void insertion_sort(TopkItem *v, int first, int last) {
    if (first == last) return;
    for (int i = first + 1; i < last; i++) {
        TopkItem value = v[i];
        if (before(value, v[first])) {
            memmove(&v[first + 1], &v[first], (size_t)(i - first) * sizeof *v);
            v[first] = value;
        } else {
            int j = i;
            while (before(value, v[j - 1])) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = value;
        }
    }
}

static void nth_element(TopkItem *v, int nth, int len) {
    int first = 0, last = len;
    if (nth == last) return;
    int depth = 0; // 2 * floor(log2(len)), libstdc++'s depth limit
    for (int n = len; n > 1; n >>= 1) depth += 2;
    while (last - first > 3) {
        if (depth == 0) {
            heap_select(v + first, nth + 1 - first, last - first);
            swap_items(&v[first], &v[nth]);
            return;
        }
        depth--;
        int mid = first + (last - first) / 2;
        move_median_to_first(v, first, first + 1, mid, last - 1);
        int cut = unguarded_partition(v, first + 1, last, first);
        if (cut <= nth) first = cut;
        else last = cut;
    }
    insertion_sort(v, first, last);
}

void topk_select(TopkItem *items, int n, int k) {
    // PyTorch then sorts the selected items by value; the set, all the assigner uses, is final here.
    if ((int64_t)k * 64 <= n) heap_select(items, k, n);
    else nth_element(items, k - 1, n);
}

// ---- the assigner ----

// Ultralytics' preprocess: normalised xywh times (W, H, W, H), then xywh2xyxy, in float32.
static void target_box_px(const float *row, float img_w, float img_h, float box[4]) {
    float cx = row[2] * img_w, cy = row[3] * img_h, half_w = row[4] * img_w / 2.0f, half_h = row[5] * img_h / 2.0f;
    box[0] = cx - half_w;
    box[1] = cy - half_h;
    box[2] = cx + half_w;
    box[3] = cy + half_h;
}

// align = score^alpha * overlap^beta with alpha 0.5 and beta 6. PyTorch computes pow(x, 0.5) as
// sqrt and pow(x, 6) with a float pow, which rounds like the double pow rounded to float.
static float alignment(float score, float overlap) { return sqrtf(score) * (float)pow((double)overlap, 6.0); }

// The detached class score: sigmoid of the logit, in float32 as PyTorch's sigmoid.
static float class_score(const TalLogits *t, int a, int cls) {
    int l = 0;
    while (a >= t->start[l + 1]) l++;
    float x = t->level[l][cls * t->plane[l] + (a - t->start[l])];
    return 1.0f / (1.0f + expf(-x));
}

static bool is_row_of(const TalImage *in, int row) { return (int)in->targets[(int64_t)row * 6] == in->image; }

// Steps 1-3 for one box: the anchors inside it, their overlaps and alignments, its top-k, and
// the running per-anchor record of positives and of the largest overlap over all boxes.
static void select_for_box(const TalImage *in, const TalScratch *s, int row, const float box[4]) {
    int A = in->anchors, cls = (int)in->targets[(int64_t)row * 6 + 1];
    for (int a = 0; a < A; a++) {
        const float *c = in->anchor_px + 2 * a;
        float inside = fminf(fminf(c[0] - box[0], c[1] - box[1]), fminf(box[2] - c[0], box[3] - c[1]));
        s->in_box[a] = inside > 1e-9f;
        float align = 0.0f;
        if (s->in_box[a]) {
            float ov = ciou_f32(box, in->pred_px + 4 * a);
            ov = ov < 0.0f ? 0.0f : ov; // clamp(0), NaN kept as PyTorch keeps it
            s->overlap[a] = ov;
            align = alignment(class_score(&in->logits, a, cls), ov);
            // argmax over boxes: the first of equal maxima; NaN wins as in PyTorch.
            if (ov > s->best_overlap[a] || (isnan(ov) && !isnan(s->best_overlap[a]))) {
                s->best_overlap[a] = ov;
                s->best_gt[a] = row;
            }
        }
        s->items[a] = (TopkItem){align, a};
    }
    topk_select(s->items, A, TAL_TOPK);
    // A valid box's top-k indices are distinct, so the duplicate reset of Ultralytics' count
    // (which only fires for padded boxes, whose indices are all set to 0) never applies here.
    for (int i = 0; i < TAL_TOPK; i++) {
        int a = s->items[i].index;
        if (!s->in_box[a]) continue;
        if (s->n_pos[a] == 0) {
            s->gt[a] = row;
            s->gt_overlap[a] = s->overlap[a];
            s->gt_align[a] = s->items[i].value;
        }
        if (s->n_pos[a] < 2) s->n_pos[a]++;
    }
}

int tal_assign(const TalImage *in, const TalScratch *s, const TalResult *out) {
    int A = in->anchors;
    memset(out->fg, 0, (size_t)A);
    memset(out->score, 0, (size_t)A * sizeof *out->score);
    memset(out->box, 0, (size_t)A * 4 * sizeof *out->box);
    for (int a = 0; a < A; a++) out->cls[a] = out->row[a] = -1;
    int first = 0;
    while (first < in->n_targets && !is_row_of(in, first)) first++;
    if (first == in->n_targets) return 0;

    memset(s->n_pos, 0, (size_t)A);
    for (int a = 0; a < A; a++) {
        s->best_overlap[a] = 0.0f;
        s->best_gt[a] = first; // argmax of all-zero overlaps is the image's first box
    }
    for (int row = first; row < in->n_targets; row++) {
        if (!is_row_of(in, row)) continue;
        float box[4];
        target_box_px(in->targets + (int64_t)row * 6, in->img_w, in->img_h, box);
        // mask_gt: Ultralytics pads with all-zero boxes and drops boxes whose coordinates sum to
        // <= 0; such a box is never positive but keeps its place in the argmax below.
        if (box[0] + box[1] + box[2] + box[3] > 0.0f) select_for_box(in, s, row, box);
    }

    // Step 4: an anchor positive for several boxes goes to the box of largest overlap over all
    // boxes (even one whose top-k did not take it), as select_highest_overlaps does.
    int n_fg = 0;
    for (int a = 0; a < A; a++) {
        if (s->n_pos[a] == 0) continue;
        if (s->n_pos[a] > 1) {
            int row = s->best_gt[a];
            int cls = (int)in->targets[(int64_t)row * 6 + 1];
            s->gt[a] = row;
            s->gt_overlap[a] = s->best_overlap[a];
            s->gt_align[a] = alignment(class_score(&in->logits, a, cls), s->best_overlap[a]);
        }
        out->fg[a] = 1;
        n_fg++;
    }

    // Steps 5-6: per box, the largest alignment and overlap over its anchors scale their scores.
    for (int row = first; row < in->n_targets; row++) {
        if (!is_row_of(in, row)) continue;
        float align_max = 0.0f, overlap_max = 0.0f;
        bool any = false;
        for (int a = 0; a < A; a++) {
            if (!out->fg[a] || s->gt[a] != row) continue;
            align_max = fmaxf(align_max, s->gt_align[a]);
            overlap_max = fmaxf(overlap_max, s->gt_overlap[a]);
            any = true;
        }
        if (!any) continue;
        const float *t = in->targets + (int64_t)row * 6;
        float box[4];
        target_box_px(t, in->img_w, in->img_h, box);
        for (int a = 0; a < A; a++) {
            if (!out->fg[a] || s->gt[a] != row) continue;
            out->cls[a] = (int)t[1];
            out->row[a] = row;
            out->score[a] = s->gt_align[a] * overlap_max / (align_max + 1e-9f);
            for (int k = 0; k < 4; k++) out->box[4 * a + k] = box[k] / in->stride[a];
        }
    }
    return n_fg;
}
