// A model to run rather than train (`yolo TASK val`, `yolo TASK predict`): a checkpoint's EMA
// weights in the architecture the checkpoint stores (what its run validated, as Ultralytics
// saves the EMA as the model), or a model YAML with freshly initialised weights. Opening reads
// and checks; building makes the graph that holds the weights, once the input size is known.
#ifndef YOLO_ENGINE_INFERENCE_MODEL_H
#define YOLO_ENGINE_INFERENCE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/checkpoint.h"
#include "nn/model.h"

typedef struct {
    char path[4096];
    bool from_checkpoint;
    Checkpoint ck;          // state NULL for a YAML model
    ModelDef def;
    int nc;
    char **names;           // [nc]: class names the checkpoint's dataset gave, else NULL
    const char *train_args; // the checkpoint's args.yaml text ("" for a YAML model)
    // After inference_model_build:
    Backend *backend;
    Graph *g;               // batch 1 at imgsz, holding the weights (g->params)
    Model m;
    int imgsz;
} InferenceModel;

// Opens `model` for `yolo <task> <mode>` (task: detect, segment, classify): a .ckpt (checked
// whole, of this task: another task's checkpoint is an error naming the command that fits), or
// when allow_yaml a model YAML (path or name in configs/models, of this task's head). -1 with a
// message.
int inference_model_open(const char *model, const char *task, const char *mode, bool allow_yaml, InferenceModel *im);
// The backend (threads; 0: every core) and the weights' graph at imgsz: the checkpoint's EMA
// tensors, every one of which must fit, or a YAML model's initialisation from seed.
int inference_model_build(InferenceModel *im, int imgsz, int threads, uint64_t seed);
void inference_model_free(InferenceModel *im);

#endif
