// Runs one op outside any graph: allocates its tensors for given input shapes, fills inputs and
// parameters with seeded random values, and calls the backend's kernels. Gradient checks,
// thread-count checks and backend-against-CPU checks all build on it.
#ifndef YOLO_TESTS_OP_HARNESS_H
#define YOLO_TESTS_OP_HARNESS_H

#include <stdbool.h>

#include "backend/backend.h"
#include "nn/op.h"

typedef struct {
    OpKind kind;
    OpParams p;
    int n_in;
    Shape in[OP_MAX_INPUTS];
    int training;
    // Inputs drawn as distinct values at least `distinct_gap` apart (shuffled), so that ops with
    // kinks (max-pool) see no ties and no crossing under a finite-difference step. 0: uniform.
    float distinct_gap;
} OpSpec;

typedef struct {
    OpSpec spec;
    OpShapes shapes;
    Tensor in[OP_MAX_INPUTS], in_grad[OP_MAX_INPUTS];
    Tensor out, out_grad;
    Tensor param[OP_MAX_PARAMS], param_grad[OP_MAX_PARAMS];
    Tensor buffer[OP_MAX_BUFFERS], saved[OP_MAX_SAVED];
    OpArgs args;
} OpHarness;

// Allocates and fills everything from `seed`: inputs in [-1, 1] (or distinct), parameters in
// [-1, 1], BN running stats 0 and 1, the output gradient in [-1, 1]. Returns -1 with a message
// when the spec's shapes are invalid.
int harness_init(OpHarness *h, const OpSpec *spec, const Backend *backend, uint64_t seed);
void harness_free(OpHarness *h);
int harness_forward(OpHarness *h);
// Zeroes every gradient, then runs backward.
int harness_backward(OpHarness *h);
// Runs backward again without zeroing: gradients must add up (the kernels' += contract).
int harness_backward_again(OpHarness *h);

typedef struct {
    float eps;  // central-difference step
    float atol; // |numeric - analytic| <= atol + rtol * |numeric|
    float rtol;
} GradTolerance;

extern const GradTolerance GRAD_DEFAULT;

// Finite-difference check of d(sum(out * out_grad))/d(every input and parameter element) against
// the backward kernels, with one CPU thread; then a second backward must double every gradient
// (kernels accumulate). Failures are reported through EXPECT with the op,
// the tensor and the element.
void gradcheck(const OpSpec *spec, GradTolerance tol);

// Forward and backward with 1 and with 2 threads give the same bits in every output and gradient.
void expect_thread_invariant(const OpSpec *spec);

#endif
