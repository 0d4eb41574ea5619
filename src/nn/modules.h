// The building blocks of YOLO networks (Ultralytics' nn/modules), each appending graph nodes and
// naming parameters exactly as PyTorch's state dict does ("model.2.m.0.cv1.conv.weight"), so
// checkpoints and reference weights map by name. Each returns its output value id or -1.
#ifndef YOLO_NN_MODULES_H
#define YOLO_NN_MODULES_H

#include <stdbool.h>

#include "nn/graph.h"

// BatchNorm settings differ by model family (detection models set eps 1e-3, momentum 0.03;
// classifiers keep PyTorch's 1e-5 and 0.1), so every builder receives them.
typedef struct {
    Graph *g;
    float bn_eps, bn_momentum;
} ModuleCtx;

enum { REG_MAX = 16, HEAD_MAX_LEVELS = 4 };

// Conv2d (no bias, padding k/2) + BatchNorm2d + SiLU, named <prefix>.conv / <prefix>.bn; BN and SiLU
// are one batchnorm2d_silu node.
int module_conv(const ModuleCtx *m, const char *prefix, int x, int c2, int k, int s, int groups);
int module_bottleneck(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, bool shortcut, int k1, int k2, double e);
int module_c2f(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, int n, bool shortcut, double e);
int module_sppf(const ModuleCtx *m, const char *prefix, int x, int c1, int c2, int k);
int module_upsample(const ModuleCtx *m, const char *prefix, int x, int scale);
int module_concat(const ModuleCtx *m, const char *prefix, const int *xs, int n);

// Detect: per level a box branch (cv2, 4*REG_MAX channels) and a class branch (cv3, nc), joined as
// [box, cls] per level in outputs[i]; plus the frozen DFL weights <prefix>.dfl.conv.weight.
int module_detect(const ModuleCtx *m, const char *prefix, const int *xs, const int *ch, int n_levels, int nc, int *outputs);
// Segment = Detect + mask coefficients per level (cv4, nm channels each, in coeffs[i]) + Proto
// on the first level (nm prototype masks at twice its resolution, in *proto).
int module_segment(const ModuleCtx *m, const char *prefix, const int *xs, const int *ch, int n_levels, int nc, int nm,
                   int npr, int *outputs, int *coeffs, int *proto);
// Classify: Conv to 1280, global average pool, flatten, dropout, linear to nc logits.
int module_classify(const ModuleCtx *m, const char *prefix, int x, int nc, float dropout);

#endif
