// Segment validation on hand-made cases: predicted masks (coefficients . prototypes, cropped to
// the box at prototype resolution), ground-truth instance masks from overlap maps (also resized),
// mask IoU, and the whole validator on head outputs built by hand: box and mask P/R/mAP and
// fitness = box fitness + mask fitness.
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "tasks/detect/metrics.h"
#include "tasks/segment/masks.h"
#include "tasks/task.h"
#include "test.h"

// Prototypes of 8x8 (a 32x32 input): channel 0 is 1 everywhere, channel 1 is x - 3.5.
static float PROTO[2][8][8];

static Protos make_protos(void) {
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            PROTO[0][y][x] = 1.0f;
            PROTO[1][y][x] = (float)x - 3.5f;
        }
    return (Protos){&PROTO[0][0][0], 2, 8, 8};
}

static int count_in(const uint8_t *bits, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += bits[y * 8 + x];
    return n;
}

TEST(segment_predicted_mask_is_cropped_to_the_box_at_prototype_resolution) {
    Protos p = make_protos();
    uint8_t bits[64];
    int rect[4];
    // Box [4, 8, 20, 24] in input pixels is [1, 2, 5, 6) on the grid; coefficients (1, 0): all of it.
    const float coeff_all[2] = {1.0f, 0.0f}, box[4] = {4, 8, 20, 24};
    EXPECT(seg_predict_mask(&p, coeff_all, 1, box, 32, 32, bits, rect) == 16);
    EXPECT(rect[0] == 1 && rect[1] == 2 && rect[2] == 5 && rect[3] == 6);
    EXPECT(count_in(bits, 1, 2, 5, 6) == 16 && count_in(bits, 0, 0, 8, 8) == 16);
    // Coefficients (0, 1): logit x - 3.5 > 0 keeps columns 4 and up of the box: column 4, rows 2..5.
    const float coeff_right[2] = {0.0f, 1.0f};
    EXPECT(seg_predict_mask(&p, coeff_right, 1, box, 32, 32, bits, rect) == 4 && count_in(bits, 4, 2, 5, 6) == 4);
    // A fractional box [5, 9, 19, 23] -> [1.25, 2.25, 4.75, 5.75): columns and rows with x1 <= r < x2.
    const float frac[4] = {5, 9, 19, 23};
    EXPECT(seg_predict_mask(&p, coeff_all, 1, frac, 32, 32, bits, rect) == 9 && count_in(bits, 2, 3, 5, 6) == 9);
    // Coefficients read `stride` floats apart; a box past the edge is clipped to the grid.
    const float strided[4] = {1.0f, 99.0f, 0.0f, 99.0f}, edge[4] = {-8, 24, 40, 40};
    EXPECT(seg_predict_mask(&p, strided, 2, edge, 32, 32, bits, rect) == 16 && rect[0] == 0 && rect[2] == 8 && rect[3] == 8);
}

TEST(segment_instance_masks_from_overlap_maps) {
    uint8_t map[4][4] = {{0, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 2, 2}, {0, 0, 2, 2}};
    uint8_t out[2 * 16];
    seg_instance_masks(&map[0][0], 4, 4, 2, 4, 4, out);
    int first = 0, second = 0;
    for (int i = 0; i < 16; i++) first += out[i], second += out[16 + i];
    EXPECT(first == 1 && out[5] == 1 && second == 4 && out[16 + 10] == 1 && out[16 + 15] == 1);

    // Upsampled 4x4 -> 8x8, bilinear without corner alignment, > 0.5. Source pixel 1 of an axis
    // weighs 0.25, 0.75, 0.75, 0.25 on destinations 1..4, so of instance 1 only the 2x2 block at
    // 2..3 passes (0.75^2 = 0.5625). Source pixels 2..3 weigh 0.25 on destination 3, 0.75 on 4 and
    // 1 on 5..7 (the last clamps), so instance 2 is the 4x4 block at 4..7.
    uint8_t big[2 * 64];
    seg_instance_masks(&map[0][0], 4, 4, 2, 8, 8, big);
    EXPECT(count_in(big, 0, 0, 8, 8) == 4 && count_in(big, 2, 2, 4, 4) == 4);
    EXPECT(count_in(big + 64, 0, 0, 8, 8) == 16 && count_in(big + 64, 4, 4, 8, 8) == 16);
}

TEST(segment_mask_iou_is_ultralytics_float32_ratio) {
    // GT 0: the 4x4 block at (1, 1) less the 2x2 at (3, 3) (12 pixels); GT 1: the 4x4 at (3, 3).
    uint8_t gt[2 * 64] = {0}, pred[64] = {0};
    int areas[2] = {12, 16}, cls[2] = {0, 1};
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            bool in0 = x >= 1 && x < 5 && y >= 1 && y < 5, in1 = x >= 3 && x < 7 && y >= 3 && y < 7;
            gt[y * 8 + x] = in0 && !in1;
            gt[64 + y * 8 + x] = in1;
            pred[y * 8 + x] = in0;
        }
    float iou[2 * 3];
    const int rect[4] = {1, 1, 5, 5};
    seg_mask_iou(pred, 16, rect, 0, gt, areas, cls, 2, 8, 8, iou, 3);
    EXPECT(iou[0] == 0.75f && iou[3] == 0.0f); // class 1 against a class-0 detection: 0
    seg_mask_iou(pred, 16, rect, 1, gt, areas, cls, 2, 8, 8, iou + 1, 3);
    // 4 / (16 + 16 - 4 + 1e-7) in float32
    EXPECT(iou[1] == 0.0f && iou[4] == 4.0f / (28.0f + 1e-7f));
}

// ---- the whole validator ----

enum { H = 32, W = 32 };

typedef struct {
    float level0[1][64 + 2][4][4], level1[1][64 + 2][2][2];
    float coeff0[1][1][4][4], coeff1[1][1][2][2];
    float proto[1][1][8][8];
    Value values[5];
    Graph g;
    Model m;
} FakeHead;

// Anchor (x, y) of a level: DFL bins one-hot at the given distance (two equal bins for a half), the
// class logit, the coefficient.
static void set_anchor(float *base, int side, int x, int y, const float dist[4], int cls, float logit) {
    int plane = side * side, at = y * side + x;
    for (int s = 0; s < 4; s++) {
        int lo = (int)dist[s];
        for (int j = 0; j < 16; j++) base[(s * 16 + j) * plane + at] = 0.0f;
        base[(s * 16 + lo) * plane + at] = 30.0f;
        if (dist[s] > (float)lo) base[(s * 16 + lo + 1) * plane + at] = 30.0f;
    }
    base[(64 + cls) * plane + at] = logit;
}

static void fake_head(FakeHead *f) {
    memset(f, 0, sizeof *f);
    float *lv[2] = {&f->level0[0][0][0][0], &f->level1[0][0][0][0]};
    int sides[2] = {4, 2};
    for (int l = 0; l < 2; l++)
        for (int c = 0; c < 2; c++)
            for (int p = 0; p < sides[l] * sides[l]; p++) lv[l][(64 + c) * sides[l] * sides[l] + p] = -20.0f;
    // A: level 0 anchor (1, 1), centre 12 px, box [4, 4, 20, 20], class 0, mask = its box.
    const float one[4] = {1, 1, 1, 1}, half[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    set_anchor(lv[0], 4, 1, 1, one, 0, 4.0f);
    f->coeff0[0][0][1][1] = 1.0f;
    // B: anchor (2, 2), box [12, 12, 28, 28], class 1, mask = its box.
    set_anchor(lv[0], 4, 2, 2, one, 1, 3.0f);
    f->coeff0[0][0][2][2] = 1.0f;
    // C: level 1 anchor (0, 0), centre 8 px, box [0, 0, 16, 16], class 0, an empty mask: a false
    // positive for both boxes (IoU 0.39 with A's GT) and masks.
    set_anchor(lv[1], 2, 0, 0, half, 0, 2.0f);
    f->coeff1[0][0][0][0] = -1.0f;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) f->proto[0][0][y][x] = 1.0f;

    float *data[5] = {lv[0], lv[1], &f->coeff0[0][0][0][0], &f->coeff1[0][0][0][0], &f->proto[0][0][0][0]};
    Shape shapes[5] = {shape_nchw(1, 66, 4, 4), shape_nchw(1, 66, 2, 2), shape_nchw(1, 1, 4, 4), shape_nchw(1, 1, 2, 2),
                       shape_nchw(1, 1, 8, 8)};
    for (int i = 0; i < 5; i++) f->values[i] = (Value){.kind = VALUE_ACTIVATION, .shape = shapes[i], .data = tensor_view(data[i], shapes[i])};
    f->g = (Graph){.values = f->values, .n_values = 5};
    f->m = (Model){.head = HEAD_SEGMENT, .nc = 2, .n_levels = 2, .outputs = {0, 1}, .strides = {8, 16}, .coeffs = {2, 3}, .proto = 4};
}

// One 32x32 image with two objects: T0 class 0, box [4, 4, 20, 20], mask its box on the grid less
// the corner T1 covers (12 pixels; A's mask IoU 0.75); T1 class 1, box [12, 12, 28, 28], mask its
// box (16 pixels; B's mask IoU 1). Boxes: A and B match at every threshold.
TEST(segment_validator_box_and_mask_metrics_on_a_hand_made_image) {
    static FakeHead f;
    fake_head(&f);
    uint8_t masks[8][8] = {{0}};
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            if (x >= 1 && x < 5 && y >= 1 && y < 5) masks[y][x] = 1;
            if (x >= 3 && x < 7 && y >= 3 && y < 7) masks[y][x] = 2;
        }
    float targets[2][6] = {{0, 0, 12.0f / W, 12.0f / H, 16.0f / W, 16.0f / H}, {0, 1, 20.0f / W, 20.0f / H, 16.0f / W, 16.0f / H}};
    int width = W, height = H, index = 0;
    float ratio_pad[4] = {1, 1, 0, 0};
    char *names[2] = {"a", "b"};
    DatasetSplit split = {.n = 1, .width = &width, .height = &height};
    DatasetConfig cfg = {.nc = 2, .names = names};
    Batch b = {.size = 1, .h = H, .w = W, .n_targets = 2, .targets = &targets[0][0], .masks = &masks[0][0],
               .dataset_index = &index, .ratio_pad = ratio_pad};
    TrainOptions o = {.conf = 0.001f, .iou = 0.7, .max_det = 300, .mask_ratio = 4};

    const TaskImpl *t = task_impl(TASK_SEGMENT);
    EXPECT(t && !strcmp(t->name, "segment") && t->n_metrics == 8 && t->n_losses == 4);
    if (!t) return;
    void *v = t->validator_create(&f.m, &cfg, &split, &o);
    EXPECT(v != NULL);
    double metrics[8], fitness = 0;
    if (v && t->validate_batch(v, &f.g, &f.m, &b) == 0 && t->validate_finish(v, metrics, &fitness, false) == 0) {
        // Both classes' detections match at 0.50 (AP 0.995: the last of the 101 points sees the
        // sentinel precision 0). Boxes: every threshold. Masks: class 1 every threshold, class 0
        // (IoU 0.75) the six thresholds 0.50..0.75.
        const double ap = 0.995, box_map = ap, mask_map = (ap + ap * 6 / 10) / 2;
        EXPECT_NEAR(metrics[2], ap, 1e-9);
        EXPECT_NEAR(metrics[3], box_map, 1e-9);
        EXPECT_NEAR(metrics[6], ap, 1e-9);
        EXPECT_NEAR(metrics[7], mask_map, 1e-9);
        EXPECT_NEAR(metrics[1], 1.0, 1e-9); // recall at the best F1: both objects found
        EXPECT_NEAR(metrics[5], 1.0, 1e-9);
        EXPECT_NEAR(fitness, (0.1 * ap + 0.9 * box_map) + (0.1 * ap + 0.9 * mask_map), 1e-9);
        // A second pass starts from nothing: the same numbers again.
        double again[8], fitness2 = 0;
        EXPECT_OK(t->validate_batch(v, &f.g, &f.m, &b));
        EXPECT_OK(t->validate_finish(v, again, &fitness2, false));
        EXPECT(!memcmp(again, metrics, sizeof again) && fitness2 == fitness);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    if (v) t->validator_destroy(v);
}
