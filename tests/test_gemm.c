// The GEMM wrapper against a plain triple loop, in all four transpose combinations, and OpenBLAS's
// run-to-run reproducibility (the contract for library kernels: same bits at a fixed thread count).
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/gemm.h"
#include "core/rng.h"
#include "test.h"

static float *random_matrix(int rows, int cols, uint32_t stream) {
    float *m = malloc((size_t)rows * (size_t)cols * sizeof *m);
    for (int i = 0; i < rows * cols; i++) m[i] = 2.0f * rng_uniform(1, rng_stream(RNG_TEST, 50, stream), (uint64_t)i) - 1.0f;
    return m;
}

TEST(gemm_matches_plain_loops_in_every_orientation) {
    gemm_init();
    enum { M = 37, N = 29, K = 53 };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *a = random_matrix(M, K, 1), *b = random_matrix(K, N, 2), *c = random_matrix(M, N, 3);
            float *want = malloc(sizeof(float) * M * N);
            // A is stored M x K (or K x M when transposed), B K x N (or N x K).
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = 0.0;
                    for (int k = 0; k < K; k++)
                        sum += (double)(ta ? a[k * M + i] : a[i * K + k]) * (double)(tb ? b[j * K + k] : b[k * N + j]);
                    want[i * N + j] = (float)(0.5 * sum + 2.0 * c[i * N + j]);
                }
            gemm(ta, tb, M, N, K, 0.5f, a, ta ? M : K, b, tb ? K : N, 2.0f, c, N);
            int bad = 0;
            for (int i = 0; i < M * N; i++) bad += !(fabsf(c[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])));
            EXPECT(bad == 0);
            free(a);
            free(b);
            free(c);
            free(want);
        }
}

TEST(gemm_is_bitwise_reproducible) {
    gemm_init();
    enum { M = 64, N = 300, K = 288 };
    float *a = random_matrix(M, K, 4), *b = random_matrix(K, N, 5);
    float *c1 = calloc(M * N, sizeof(float)), *c2 = calloc(M * N, sizeof(float));
    gemm(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c1, N);
    gemm(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c2, N);
    EXPECT(memcmp(c1, c2, sizeof(float) * M * N) == 0);
    free(a);
    free(b);
    free(c1);
    free(c2);
}
