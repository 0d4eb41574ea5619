#include "backend/cpu/tile_kernel.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

bool tile_kernel_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// A whole 6 x 16 tile. The k loop does 12 FMAs on two 8-wide loads of B and six broadcasts of A:
// enough independent chains to keep both FMA pipes busy through their latency.
__attribute__((target("avx2,fma"))) static void full_tile(int64_t kc, const float *a, const float *b, float *c,
                                                          int64_t ldc, bool load) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (load) {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++, a += TILE_MR, b += TILE_NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ar;
        ar = _mm256_broadcast_ss(a);
        c00 = _mm256_fmadd_ps(ar, b0, c00), c01 = _mm256_fmadd_ps(ar, b1, c01);
        ar = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ar, b0, c10), c11 = _mm256_fmadd_ps(ar, b1, c11);
        ar = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ar, b0, c20), c21 = _mm256_fmadd_ps(ar, b1, c21);
        ar = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ar, b0, c30), c31 = _mm256_fmadd_ps(ar, b1, c31);
        ar = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ar, b0, c40), c41 = _mm256_fmadd_ps(ar, b1, c41);
        ar = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ar, b0, c50), c51 = _mm256_fmadd_ps(ar, b1, c51);
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#else
bool tile_kernel_available(void) { return false; }

// Never called where tile_kernel_available() is false; kept so the file builds everywhere.
static void full_tile(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, bool load) {
    for (int r = 0; r < TILE_MR; r++)
        for (int j = 0; j < TILE_NR; j++) {
            float sum = load ? c[r * ldc + j] : 0.0f;
            for (int64_t k = 0; k < kc; k++) sum += a[k * TILE_MR + r] * b[k * TILE_NR + j];
            c[r * ldc + j] = sum;
        }
}
#endif

// A partial tile goes through a whole one in a local block, so the FMA chain of every element is
// the same as in a whole tile.
void tile_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m, int n, bool load) {
    if (m == TILE_MR && n == TILE_NR) {
        full_tile(kc, a, b, c, ldc, load);
        return;
    }
    float t[TILE_MR * TILE_NR] = {0};
    if (load)
        for (int r = 0; r < m; r++) memcpy(t + r * TILE_NR, c + r * ldc, (size_t)n * sizeof(float));
    full_tile(kc, a, b, t, TILE_NR, load);
    for (int r = 0; r < m; r++) memcpy(c + r * ldc, t + r * TILE_NR, (size_t)n * sizeof(float));
}
