// Prints this machine's FP32 FMA peak: `peak [THREADS [SECONDS]]`, THREADS defaulting to the
// number of online cores. The figure is the ceiling the conv kernels are compared against.
// Per-thread figures are each thread's best window (bench/peak.h), so the total is what the cores
// reach when nothing else runs, even on a busy machine.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "peak.h"

int main(int argc, char **argv) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char *end1 = "", *end2 = "";
    long threads = argc > 1 ? strtol(argv[1], &end1, 10) : (cores > 0 ? cores : 1);
    double seconds = argc > 2 ? strtod(argv[2], &end2) : 2.0;
    if (argc > 3 || *end1 || *end2 || threads < 1 || threads > PEAK_MAX_THREADS || !(seconds > 0.0)) {
        fprintf(stderr, "usage: peak [THREADS [SECONDS]]  (THREADS 1..%d, default %ld; SECONDS > 0, default 2)\n",
                PEAK_MAX_THREADS, cores);
        return 2;
    }
    // Threads sharing a core take turns, and each one's best window is then a turn alone.
    if (threads > cores) fprintf(stderr, "peak: %ld threads on %ld cores: the total overstates the peak\n", threads, cores);
    double per_thread[PEAK_MAX_THREADS];
    float checksum;
    double total = peak_measure((int)threads, seconds, per_thread, &checksum);
    if (total < 0) return 1;
    printf("fp32 FMA peak (AVX2, %d independent chains; best %.0f ms window of %.1f s per thread)\n", PEAK_CHAINS,
           1e3 * PEAK_WINDOW, seconds);
    for (int i = 0; i < threads; i++) printf("  thread %d: %.1f GFLOP/s\n", i, per_thread[i]);
    printf("  per core: %.1f GFLOP/s (mean)\n", total / (double)threads);
    printf("  total: %.1f GFLOP/s on %ld thread%s (checksum %.3f)\n", total, threads, threads == 1 ? "" : "s",
           (double)checksum);
    return 0;
}
