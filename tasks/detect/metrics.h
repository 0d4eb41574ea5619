// Detection validation (spec §9): NMS, matching at IoU 0.50:0.95, AP with 101-point
// interpolation, P and R at the best mean F1, mAP50, mAP50-95 and fitness, computed as
// Ultralytics 8.3.127 computes them (ultralytics/utils/ops.py non_max_suppression,
// engine/validator.py match_predictions, utils/metrics.py ap_per_class), checked against
// Ultralytics itself by tests/test_detect_metrics.c.
#ifndef YOLO_TASKS_DETECT_METRICS_H
#define YOLO_TASKS_DETECT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The thresholds are 0.50, 0.55, ..., 0.95 as float32 (torch.linspace(0.5, 0.95, 10)).
// The curves are sampled at DET_CURVE_POINTS values of np.linspace(0, 1, 1000).
enum { IOU_THRESHOLDS = 10, DET_CURVE_POINTS = 1000 };

typedef struct {
    float box[4]; // x1, y1, x2, y2
    float score;
    int cls;
    int anchor; // which anchor it came from (segment: its mask coefficients)
} Detection;

typedef struct {
    float conf;   // 0.001 for val, 0.25 for predict; a score must be > conf (compared in float)
    double iou;   // 0.7; suppress IoU > iou. A double because torchvision compares its float IoU
                  // with the double threshold, and 0.7f != 0.7 could flip a comparison.
    int max_det;  // 300
    int max_nms;  // rows kept, by score, before the greedy pass; 0 means Ultralytics' 30000
    bool multi_label; // Ultralytics' val passes true; it only takes effect when nc > 1
    bool agnostic;
    const int *classes; // keep only these classes (NULL: all)
    int n_classes;
} NmsOptions;

// decoded: [anchors][4 + nc]: box xywh in input pixels, then class scores after the sigmoid (the
// inference output of Detect, transposed). Writes at most max_det detections, sorted by score, to
// out and returns their count, or -1 with a message for invalid options. scratch is caller memory
// of nms_scratch_bytes(anchors, nc) bytes aligned for a float; nothing is allocated.
//
// Equal scores are ordered as torch orders them (torch.sort without stable=True, which is
// libstdc++'s std::sort): the same bits as Ultralytics even where ties decide which box survives.
size_t nms_scratch_bytes(int anchors, int nc);
int nms(const float *decoded, int anchors, int nc, const NmsOptions *opt, void *scratch, Detection *out);

// ultralytics.utils.metrics.box_iou in float32 of two xyxy boxes, the label first.
float det_box_iou(const float *gt, const float *det);

// Accumulates matched detections over a validation run, then computes the metrics.
typedef struct DetMetrics DetMetrics;

// NULL with a message when out of memory or nc < 1.
DetMetrics *det_metrics_create(int nc);
void det_metrics_destroy(DetMetrics *m);
// One image (call it for every image, also those with neither detections nor labels: they count
// as seen): detections (NMS output, in its order) and ground truth xyxy in the same pixel space
// (native image space). Classes must lie in [0, nc). Returns -1 with a message on a bad class or
// when out of memory.
int det_metrics_add(DetMetrics *m, const Detection *dets, int n_dets, const float *gt_boxes, const int *gt_cls, int n_gt);
// The same with the IoU of every (label, detection) pair given instead of boxes: iou[g * n_dets +
// d], float32 as Ultralytics computes it (segment: mask IoU). The matching and AP are the same.
int det_metrics_add_iou(DetMetrics *m, const Detection *dets, int n_dets, const float *iou, const int *gt_cls, int n_gt);
// The matches of every detection added so far, in the order added: bit t set means a true positive
// at IoU threshold t (0.50 + 0.05 t). *count receives the number of detections.
const uint16_t *det_metrics_tp(const DetMetrics *m, int *count);

typedef struct {
    double precision, recall, map50, map50_95, fitness; // fitness = 0.1 mAP50 + 0.9 mAP50-95
    int nc;
    int seen;            // images added
    // Per class (nc entries): images containing the class, instances, P, R, AP50, AP50-95, and AP
    // at each threshold (ap_iou[c * IOU_THRESHOLDS + t]). A class without instances has zeros
    // everywhere and, as in Ultralytics, takes no part in the means (a class with instances but
    // no detections does, with zeros).
    int *images, *instances;
    double *p, *r, *ap50, *ap, *ap_iou;
    // The curves of ap_per_class at IoU 0.50, per class [nc][DET_CURVE_POINTS], x the k-th point of
    // np.linspace(0, 1, 1000): precision, recall and F1 at confidence x (p_curve, r_curve,
    // f1_curve; zeros for a class without detections), and precision at recall x from the
    // envelope AP integrates (pr_curve, Ultralytics' prec_values; has_pr[c] says whether the class
    // has one: only classes with labels and detections do).
    double *p_curve, *r_curve, *f1_curve, *pr_curve;
    unsigned char *has_pr;
} DetSummary;

// Fills out (its arrays allocated here; free with det_summary_free). -1 when out of memory.
int det_metrics_summarize(const DetMetrics *m, DetSummary *out);
void det_summary_free(DetSummary *s);

// Ultralytics' smooth(y, 0.1) of a DET_CURVE_POINTS curve: a 101-tap box filter over y padded
// with its end values. Picks P and R (at the maximum of the smoothed mean F1) and the 'all
// classes' lines of the curve plots.
void det_curve_smooth(const double *y, double *out);

#endif
