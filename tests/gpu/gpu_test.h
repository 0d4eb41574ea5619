// What the GPU tests share: the CUDA backend the runner created, and the op comparison.
#ifndef YOLO_TESTS_GPU_TEST_H
#define YOLO_TESTS_GPU_TEST_H

#include <stdbool.h>

#include "backend/backend.h"
#include "op_harness.h"

// The CUDA backend on the GPU under test (deterministic algorithms).
Backend *gpu_backend(void);

// How close the GPU's result must be to the CPU's: |gpu - cpu| <= atol + rtol * |cpu|, or the
// same bits when exact.
typedef struct {
    bool exact;
    float rtol, atol;
} Tolerance;

// Inputs of a comparison beyond the op's spec.
typedef struct {
    bool ties;       // round the inputs to {-1, 0, 1}: max-pool ties
    bool same_input; // every input is the first input's value, with one shared gradient (x + x)
} CompareOptions;

// Runs spec's op forward and backward on the CPU (one thread) and on the GPU, from the same
// random inputs, parameters, buffers and output gradient, with every gradient starting from the
// same random values (so that += is checked), and compares every output, buffer, saved tensor and
// gradient within tol. Then runs the GPU op again from the same state and expects the same bits
// (determinism). Failures go through test_fail with the op and tensor named.
void compare_op(const char *label, const OpSpec *spec, Tolerance tol, CompareOptions opt);

#endif
