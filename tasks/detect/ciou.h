// Complete IoU of two xyxy boxes (spec §4.3; Ultralytics' bbox_iou with CIoU=True, eps 1e-7):
// iou - (rho^2 / c^2 + v * alpha), where alpha = v / (v - iou + 1 + eps) is computed without
// gradient in Ultralytics, so the loss treats it as a constant.
#ifndef YOLO_TASKS_DETECT_CIOU_H
#define YOLO_TASKS_DETECT_CIOU_H

// In float, with PyTorch's operations in PyTorch's order, for the assigner: it ranks anchors by
// these values, so they should carry the same rounding as Ultralytics' (ties decide top-k).
float ciou_f32(const float b1[4], const float b2[4]);

// alpha of CIoU(b1, b2), the weight of the aspect-ratio term.
double ciou_alpha(const double b1[4], const double b2[4]);

// CIoU(b1, b2) with the given alpha, and (when d_b1 is not NULL) its gradient with respect to b1
// with alpha held fixed. Where a min or max has equal arguments the gradient is split in half,
// and an intersection side of exactly 0 still passes it, as PyTorch's minimum, maximum and
// clamp do.
double ciou_fixed_alpha(const double b1[4], const double b2[4], double alpha, double d_b1[4]);

#endif
