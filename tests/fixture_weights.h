// Reading the reference fixtures (written by scripts/reference/*.py with Ultralytics), shared by
// the parity tests: weights into a planned graph by state-dict name, single tensors, JSON
// fixtures, and the relative error the tests compare against.
#ifndef YOLO_TESTS_FIXTURE_WEIGHTS_H
#define YOLO_TESTS_FIXTURE_WEIGHTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "nn/graph.h"

// Copies every parameter and buffer of the graph from the file by name. Every weight of the
// graph must be in the file with the same shape, and every weight in the file must be used
// (entries named input.*, output.* and after.* are fixture data, not weights). path names the
// file in the message.
int fixture_load_weights(Graph *g, const SafeTensors *st, const char *path);

// Whether a fixture tensor has exactly this shape.
bool fixture_same_shape(const StTensor *t, Shape s);
// "2x3x64x64" ("scalar" for 0 dimensions), for messages.
const char *fixture_shape_str(const StTensor *t, char *buf, int cap);

// A fixture tensor's values (malloc'd), which must be F32 with `numel` values (any count when
// numel < 0; *count, when not NULL, receives it). NULL after recording a test failure.
float *fixture_f32(const SafeTensors *st, const char *name, int64_t numel, int64_t *count);

// A JSON fixture (path relative to the repository root, where the tests run), parsed; the caller
// cJSON_Deletes it. NULL after recording a test failure.
cJSON *fixture_json(const char *path);

// ||got - want|| / ||want|| in the L2 norm over n values (want's norm floored at 1e-30): how the
// parity tests compare gradients and outputs as a whole.
double fixture_rel_l2(const float *got, const float *want, int64_t n);

#endif
