// Loading the weights of a reference fixture (written by scripts/reference/make_fixtures.py)
// into a planned graph by state-dict name, shared by the parity tests.
#ifndef YOLO_TESTS_FIXTURE_WEIGHTS_H
#define YOLO_TESTS_FIXTURE_WEIGHTS_H

#include <stdbool.h>

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

#endif
