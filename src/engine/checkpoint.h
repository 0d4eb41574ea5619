// Checkpoints (shared/docs/checkpoint-and-resume.md): a safetensors file with the raw weights and
// BN buffers under their PyTorch names, the EMA copy under "ema.", optimizer slots under
// "optim.<slot>.", partial gradients under "grad." when saved mid-accumulation, and metadata:
// format, format_version, task, an XXH3 checksum of the data section, and the state JSON.
#ifndef YOLO_ENGINE_CHECKPOINT_H
#define YOLO_ENGINE_CHECKPOINT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "engine/optimizer.h"
#include "io/safetensors.h"
#include "nn/graph.h"
#include "nn/model_yaml.h"

#define CHECKPOINT_FORMAT "yolo-ckpt"
#define CHECKPOINT_FORMAT_VERSION "1"

typedef struct {
    const Graph *g;
    const Ema *ema;         // NULL: no EMA
    const Optimizer *optim; // NULL: no optimizer state
    bool with_grads;        // also the accumulated gradients (a save between optimizer steps)
    const char *task;
    const char *state_json;
} CheckpointContent;

// Writes the checkpoint atomically to path, keeping the current file as prev_path (NULL: none).
int checkpoint_save(const char *path, const char *prev_path, const CheckpointContent *c);

// A checkpoint read back and verified: format, format_version, the data checksum, the task and
// the state JSON all checked before anything is restored from it.
typedef struct {
    char path[4096]; // the file actually read (last.prev.ckpt after a fallback)
    char task[32];
    SafeTensors st;
    cJSON *state;
} Checkpoint;

// Reads and verifies path. When it is damaged and a sibling .prev.ckpt is whole (last.ckpt ->
// last.prev.ckpt), that one is used with a warning on stderr. -1 names the file and the problem.
int checkpoint_open(const char *path, Checkpoint *ck);
void checkpoint_close(Checkpoint *ck);

// Copies the stored tensors into the planned graph (params and buffers, and grad.* when the save
// was between optimizer steps; otherwise the gradients are cleared), the EMA and the optimizer
// slots. Every tensor the graph has must be stored with the same shape and nothing else may be:
// -1 lists the missing and unexpected names with their shapes.
int checkpoint_restore(const Checkpoint *ck, Graph *g, Ema *ema, const Optimizer *optim);

// The model a checkpoint was trained with, from the YAML and scale its state stores (so no source
// file is needed), parsed as "<path>:model.yaml" for messages; def->nc is the class count the
// checkpoint was trained for.
int checkpoint_model_def(const Checkpoint *ck, ModelDef *def);

// Fine-tuning: copies into the planned graph's params and buffers every stored tensor named
// prefix+name ("ema." for the EMA weights) with the value's shape, and leaves the other values as
// they are (a head built for another nc keeps its fresh class layers). *copied of *total values
// were copied; -1 when none was, since training on from scratch is surely not what was asked.
int checkpoint_transfer(const Checkpoint *ck, const char *prefix, Graph *g, int *copied, int *total);

#endif
