// A YOLO network built from a ModelDef into a graph: the row-by-row scaling rules of
// Ultralytics' parse_model, the module builders of nn/modules.h, and the weight initialisation.
#ifndef YOLO_NN_MODEL_H
#define YOLO_NN_MODEL_H

#include <stdint.h>

#include "nn/graph.h"
#include "nn/model_yaml.h"
#include "nn/modules.h"

typedef enum { HEAD_DETECT, HEAD_SEGMENT, HEAD_CLASSIFY } HeadKind;

typedef struct {
    int index;
    char from[32];    // as written: "-1", "[-1, 6]"
    int repeats;      // after depth scaling
    char module[MODEL_NAME_CAP];
    char args[96];    // the resolved arguments, as the layer table prints them
    int64_t params;   // parameters created by this row (BN running stats excluded, as in PyTorch)
    int channels;     // output channels
    int output;       // graph value of the row's output (the first level's for heads)
} LayerInfo;

typedef struct {
    HeadKind head;
    int nc;
    int input; // the images value [batch, 3, imgsz, imgsz]
    int n_layers;
    LayerInfo layers[MODEL_MAX_ROWS];
    int n_levels;                      // detect/segment: feature levels
    int outputs[HEAD_MAX_LEVELS];      // detect/segment: [batch, 4*16 + nc, h, w] per level
    int strides[HEAD_MAX_LEVELS];
    int coeffs[HEAD_MAX_LEVELS];       // segment: mask coefficients per level
    int proto;                         // segment: prototypes
    int logits;                        // classify
    int dfl;                           // detect/segment: the frozen DFL weights
    float bn_eps, bn_momentum;
} Model;

typedef struct {
    int nc;        // > 0 overrides the file's nc (a dataset's class count)
    int batch;
    int imgsz;     // square input; must be a multiple of 32 for detection models
    int height, width; // a rectangular input instead (validation batches); 0: imgsz
    float dropout; // classify head
} ModelOptions;

// Builds the network into g (before graph_plan). Errors name the file, row and line.
int model_build(Graph *g, const ModelDef *def, const ModelOptions *opt, Model *m);

// PyTorch's default initialisation drawn from our RNG (conv and linear weights and biases
// U(+-1/sqrt(fan_in)), BN weight 1 and bias 0) and Detect's bias prior. After graph_plan.
void model_init_weights(Graph *g, const Model *m, uint64_t seed);

// The task a model's head serves: "detect", "segment" or "classify".
const char *model_task_name(const Model *m);

enum { MODEL_MAX_HEAD_VALUES = 2 * HEAD_MAX_LEVELS + 1 };
// The graph values a task reads from the head (detect: the levels; segment: the levels, the mask
// coefficients and the prototypes; classify: the logits): what a forward-only plan must keep.
// Returns how many were written to values[MODEL_MAX_HEAD_VALUES].
int model_head_values(const Model *m, int *values);

// Parameters in total and trainable (Ultralytics' "gradients").
int64_t model_param_count(const Graph *g, bool trainable_only);
// GFLOPs per image at imgsz as Ultralytics reports them (2 x thop's multiply-accumulates of the
// convolutions and linear layers, with thop's conventions: a transposed conv charges each output
// (Cin/g)*k*k, and the linear layer is scaled by (imgsz/32)^2 as Ultralytics' measurement does).
double model_reported_gflops(const Graph *g, int imgsz);

#endif
