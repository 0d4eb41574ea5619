// Single-precision GEMM for the CPU kernels, on OpenBLAS. OpenBLAS runs single-threaded: our
// thread pool splits work across samples instead, which keeps results independent of the thread
// count (a GEMM split by OpenBLAS's own threads may sum in a different order).
#ifndef YOLO_BACKEND_CPU_GEMM_H
#define YOLO_BACKEND_CPU_GEMM_H

#include <stdbool.h>

// Pins OpenBLAS to one thread. Idempotent.
void gemm_init(void);

// C[M x N] = alpha * op(A) * op(B) + beta * C, row-major; op transposes when trans_* is true.
// lda/ldb/ldc are the row strides of A, B and C as stored.
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
          int ldb, float beta, float *c, int ldc);

#endif
