#include "core/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

struct ThreadPool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    // The current job; `generation` tells sleeping workers a new one was posted.
    uint64_t generation;
    ParallelFn fn;
    void *ctx;
    int64_t n;
    int pending; // workers that have not finished the current job
    int stopping;
};

typedef struct {
    ThreadPool *pool;
    int thread;
} WorkerArg;

static void chunk_of(int64_t n, int n_threads, int thread, int64_t *begin, int64_t *end) {
    *begin = n * thread / n_threads;
    *end = n * (thread + 1) / n_threads;
}

static void *worker_main(void *arg_) {
    WorkerArg *arg = arg_;
    ThreadPool *pool = arg->pool;
    int thread = arg->thread;
    free(arg);
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->stopping) pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->stopping) break;
        seen = pool->generation;
        ParallelFn fn = pool->fn;
        void *ctx = pool->ctx;
        int64_t begin, end;
        chunk_of(pool->n, pool->n_threads, thread, &begin, &end);
        pthread_mutex_unlock(&pool->lock);
        if (begin < end) fn(ctx, begin, end, thread);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0) pthread_cond_signal(&pool->work_done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

ThreadPool *pool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    ThreadPool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    pool->workers = calloc((size_t)n_threads, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    for (int t = 1; t < n_threads; t++) {
        WorkerArg *arg = malloc(sizeof *arg);
        if (!arg || (*arg = (WorkerArg){pool, t}, pthread_create(&pool->workers[t], NULL, worker_main, arg)) != 0) {
            free(arg);
            pool->n_threads = t; // keep the workers that did start
            break;
        }
    }
    return pool;
}

void pool_destroy(ThreadPool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int t = 1; t < pool->n_threads; t++) pthread_join(pool->workers[t], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    free(pool->workers);
    free(pool);
}

int pool_threads(const ThreadPool *pool) { return pool ? pool->n_threads : 1; }

void pool_for(ThreadPool *pool, int64_t n, ParallelFn fn, void *ctx) {
    if (n <= 0) return;
    if (!pool || pool->n_threads == 1 || n == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    pool->pending = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);

    int64_t begin, end;
    chunk_of(n, pool->n_threads, 0, &begin, &end);
    if (begin < end) fn(ctx, begin, end, 0);

    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0) pthread_cond_wait(&pool->work_done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
