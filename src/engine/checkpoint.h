// Checkpoints (shared/docs/checkpoint-and-resume.md): a safetensors file with the raw weights and
// BN buffers under their PyTorch names, the EMA copy under "ema.", optimizer slots under
// "optim.<slot>.", partial gradients under "grad." when saved mid-accumulation, and metadata:
// format, format_version, task, an XXH3 checksum of the data section, and the state JSON.
#ifndef YOLO_ENGINE_CHECKPOINT_H
#define YOLO_ENGINE_CHECKPOINT_H

#include <stdbool.h>

#include "engine/optimizer.h"
#include "nn/graph.h"

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

#endif
