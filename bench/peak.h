// The machine's FP32 peak, measured: every thread runs a loop of independent AVX2 FMAs on
// registers only, so the figure is what the FMA units can do with no memory traffic. peak.c prints
// it; conv_bench.c divides its measured conv throughput by it. Header-only so the two programs
// share one routine; both are compiled with -mavx2 -mfma (bench/meson.build).
#ifndef YOLO_BENCH_PEAK_H
#define YOLO_BENCH_PEAK_H

#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
    // A Zen 3 or recent Intel core keeps 2 FMA pipes x 4 cycles of latency = 8 FMAs in flight;
    // 12 independent chains cover that with room, and 12 + 2 operands fit the 16 ymm registers.
    PEAK_CHAINS = 12,
    // Loop trips per clock check: 16384 x 12 FMAs, tens of microseconds, so reading the clock
    // costs nothing measurable.
    PEAK_BLOCK = 1 << 14,
    PEAK_MAX_THREADS = 256,
};

// Seconds per measured window (see peak_run): longer than a clock check, shorter than the
// scheduler's time slice, so on a shared machine some windows run with the core to themselves.
#define PEAK_WINDOW 0.01

// Floating-point operations of one block: chains x 8 lanes x 2 (multiply and add).
#define PEAK_FLOPS_PER_BLOCK ((double)PEAK_BLOCK * PEAK_CHAINS * 8 * 2)

typedef struct {
    double seconds;           // how long each thread runs after its warm-up
    pthread_barrier_t *start; // threads begin measuring together, so they overlap fully
    double gflops;            // result: this thread's best rate
    float sink;               // result: the accumulators folded, so the loop cannot be dropped
} PeakThread;

static inline double peak_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// One block of FMAs on the 12 chains in acc. A function of its own, not inlined into the timing
// loop: ymm registers do not survive the clock_gettime call there, and GCC then keeps the chains
// in memory for the whole loop; here they stay in registers and are stored once per block.
// acc = acc * a + b with a < 1 converges to b / (1 - a) = 1, so values stay normal (no denormal
// slow path, no overflow).
__attribute__((noinline)) static void peak_block(__m256 *acc) {
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    __m256 c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3], c4 = acc[4], c5 = acc[5];
    __m256 c6 = acc[6], c7 = acc[7], c8 = acc[8], c9 = acc[9], c10 = acc[10], c11 = acc[11];
    for (int i = 0; i < PEAK_BLOCK; i++) {
        c0 = _mm256_fmadd_ps(c0, a, b);
        c1 = _mm256_fmadd_ps(c1, a, b);
        c2 = _mm256_fmadd_ps(c2, a, b);
        c3 = _mm256_fmadd_ps(c3, a, b);
        c4 = _mm256_fmadd_ps(c4, a, b);
        c5 = _mm256_fmadd_ps(c5, a, b);
        c6 = _mm256_fmadd_ps(c6, a, b);
        c7 = _mm256_fmadd_ps(c7, a, b);
        c8 = _mm256_fmadd_ps(c8, a, b);
        c9 = _mm256_fmadd_ps(c9, a, b);
        c10 = _mm256_fmadd_ps(c10, a, b);
        c11 = _mm256_fmadd_ps(c11, a, b);
    }
    acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3, acc[4] = c4, acc[5] = c5;
    acc[6] = c6, acc[7] = c7, acc[8] = c8, acc[9] = c9, acc[10] = c10, acc[11] = c11;
}

// Runs FMA blocks for `seconds` and returns the best rate (GFLOP/s) seen over windows of
// PEAK_WINDOW seconds: other processes on the machine only ever lower a window's rate, so the best
// one is the closest to what the core can do alone. Folds the chains into *sink.
static double peak_run(double seconds, float *sink) {
    __m256 acc[PEAK_CHAINS];
    // Distinct starting values: identical chains would be merged into one by the compiler.
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = _mm256_set1_ps(0.01f * (float)i);
    double best = 0.0, start = peak_now(), now = start;
    do {
        double t0 = now;
        long blocks = 0;
        do {
            peak_block(acc);
            blocks++;
            now = peak_now();
        } while (now - t0 < PEAK_WINDOW);
        double rate = (double)blocks * PEAK_FLOPS_PER_BLOCK / (now - t0) * 1e-9;
        if (rate > best) best = rate;
    } while (now - start < seconds);
    float lanes[8], sum = 0.0f;
    for (int i = 0; i < PEAK_CHAINS; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int j = 0; j < 8; j++) sum += lanes[j];
    }
    *sink = sum;
    return best;
}

static void *peak_thread(void *arg) {
    PeakThread *t = arg;
    float warm_sink;
    // A quarter second first: cores leave low-power states and reach their all-core clock.
    peak_run(0.25, &warm_sink);
    pthread_barrier_wait(t->start);
    t->gflops = peak_run(t->seconds, &t->sink);
    t->sink += warm_sink;
    return NULL;
}

// Measures with n_threads threads (one per core) for `seconds` each. Fills per_thread[i] (GFLOP/s)
// and *checksum (the folded accumulators) when they are not NULL; returns the total GFLOP/s, or -1
// with a message on stderr when the CPU lacks AVX2/FMA or threads cannot start.
static inline double peak_measure(int n_threads, double seconds, double *per_thread, float *checksum) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "peak: this CPU has no AVX2+FMA; the peak loop needs both\n");
        return -1.0;
    }
    if (n_threads < 1 || n_threads > PEAK_MAX_THREADS) {
        fprintf(stderr, "peak: thread count %d is outside 1..%d\n", n_threads, PEAK_MAX_THREADS);
        return -1.0;
    }
    PeakThread *t = calloc((size_t)n_threads, sizeof *t);
    pthread_t *ids = calloc((size_t)n_threads, sizeof *ids);
    // On the heap: if a thread cannot start, the others stay blocked on it after we return.
    pthread_barrier_t *start = malloc(sizeof *start);
    if (!t || !ids || !start || pthread_barrier_init(start, NULL, (unsigned)n_threads) != 0) {
        fprintf(stderr, "peak: out of memory\n");
        free(t);
        free(ids);
        free(start);
        return -1.0;
    }
    int started = 0;
    for (; started < n_threads; started++) {
        t[started] = (PeakThread){.seconds = seconds, .start = start};
        if (pthread_create(&ids[started], NULL, peak_thread, &t[started]) != 0) break;
    }
    if (started < n_threads) {
        // The barrier waits for n_threads arrivals that will never all come: report and leave
        // the started threads, their records and the barrier as they are (the caller exits).
        fprintf(stderr, "peak: cannot start thread %d of %d\n", started + 1, n_threads);
        return -1.0;
    }
    double total = 0.0;
    float sum = 0.0f;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(ids[i], NULL);
        total += t[i].gflops;
        sum += t[i].sink;
        if (per_thread) per_thread[i] = t[i].gflops;
    }
    if (checksum) *checksum = sum;
    pthread_barrier_destroy(start);
    free(start);
    free(t);
    free(ids);
    return total;
}

#endif
