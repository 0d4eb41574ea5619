// A fixed set of worker threads that run parallel-for loops. The range [0, n) is cut into one
// contiguous chunk per thread; a kernel whose every index is computed the same way whatever chunk
// it falls in gives the same bits for any thread count. Reductions across indices must not be
// split across chunks: reduce per index in a fixed order instead (see the conv weight gradient).
#ifndef YOLO_CORE_THREADPOOL_H
#define YOLO_CORE_THREADPOOL_H

#include <stdint.h>

typedef struct ThreadPool ThreadPool;

// fn handles indices [begin, end) on thread `thread` (0 .. pool_threads()-1), so it can use a
// per-thread scratch slice.
typedef void (*ParallelFn)(void *ctx, int64_t begin, int64_t end, int thread);

// n_threads >= 1; the calling thread is thread 0, so n_threads - 1 workers are started.
ThreadPool *pool_create(int n_threads);
void pool_destroy(ThreadPool *pool);
int pool_threads(const ThreadPool *pool);

// Runs fn over [0, n) and returns when all chunks are done. Not reentrant: fn must not call
// pool_for on the same pool.
void pool_for(ThreadPool *pool, int64_t n, ParallelFn fn, void *ctx);

#endif
