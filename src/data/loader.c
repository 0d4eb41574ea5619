// Batch ordering, rectangular validation shapes, and the worker threads that prepare batches
// ahead of the training step. Samples are made by sample.c; which thread makes one never changes
// its bits, so `workers` only changes speed.
#include "data/loader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/sample.h"

// Batches in flight: the one the caller holds, and the ones prepared ahead of it.
enum { LOADER_SLOTS = 3, RECT_STRIDE = 32 };

typedef enum { SLOT_FREE, SLOT_QUEUED, SLOT_READY, SLOT_HELD } SlotState;

typedef struct {
    SlotState state;
    int epoch, k;
    int next_sample, done_samples;
    bool failed;
    char error[1024];
    Batch batch;
    SampleOut *outs; // [batch capacity]
} Slot;

struct Loader {
    const DatasetSplit *split;
    LoaderOptions opt;
    ImageCache cache;
    SampleSource src;
    int n;              // images in use (after fraction)
    int batches;
    int *val_order;     // validation: images sorted by aspect ratio (rect) or in order
    int *shape_w, *shape_h; // per batch
    int max_w, max_h;
    // The shuffled order of the two most recent epochs asked for.
    int *perm[2];
    int perm_epoch[2];
    Slot slots[LOADER_SLOTS];
    pthread_t *workers;
    int n_workers;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool stopping;
};

// Fisher-Yates shuffle keyed on (seed, epoch): the same order on every machine and resume.
static void shuffle(const Loader *l, int epoch, int *perm) {
    for (int i = 0; i < l->n; i++) perm[i] = i;
    uint64_t stream = rng_stream(RNG_SHUFFLE, (uint32_t)epoch, 0);
    for (int i = l->n - 1; i > 0; i--) {
        int j = (int)(rng_u32(l->opt.seed, stream, (uint64_t)i) % (uint32_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

// Called with the lock held.
static const int *order_of(Loader *l, int epoch) {
    if (!l->opt.train) return l->val_order;
    for (int s = 0; s < 2; s++)
        if (l->perm_epoch[s] == epoch) return l->perm[s];
    int s = l->perm_epoch[0] < l->perm_epoch[1] ? 0 : 1; // replace the older epoch
    shuffle(l, epoch, l->perm[s]);
    l->perm_epoch[s] = epoch;
    return l->perm[s];
}

static int batch_size_of(const Loader *l, int k) {
    int left = l->n - k * l->opt.batch;
    return left < l->opt.batch ? left : l->opt.batch;
}

typedef struct {
    float ar;
    int index;
} Aspect;

static int by_aspect(const void *a, const void *b) {
    const Aspect *x = a, *y = b;
    if (x->ar != y->ar) return x->ar < y->ar ? -1 : 1;
    return x->index - y->index; // stable across qsort implementations
}

// Validation batches of similar aspect ratio, each letterboxed to the smallest stride-multiple
// shape that holds it with Ultralytics' pad of 0.5 stride (spec §8, set_rectangle).
static int plan_shapes(Loader *l) {
    int imgsz = l->opt.imgsz;
    for (int i = 0; i < l->n; i++) l->val_order[i] = i;
    bool rect = !l->opt.train && l->opt.rect && l->opt.task != TASK_CLASSIFY;
    if (rect) {
        Aspect *a = malloc(sizeof *a * (size_t)l->n);
        mallocCheck(a);
        for (int i = 0; i < l->n; i++) a[i] = (Aspect){(float)l->split->height[i] / (float)l->split->width[i], i};
        qsort(a, (size_t)l->n, sizeof *a, by_aspect);
        for (int i = 0; i < l->n; i++) l->val_order[i] = a[i].index;
        for (int k = 0; k < l->batches; k++) {
            float lo = a[k * l->opt.batch].ar, hi = a[k * l->opt.batch + batch_size_of(l, k) - 1].ar;
            double sh = 1.0, sw = 1.0;
            if (hi < 1.0f) sh = hi;
            else if (lo > 1.0f) sw = 1.0 / lo;
            l->shape_h[k] = (int)ceil(sh * imgsz / RECT_STRIDE + 0.5) * RECT_STRIDE;
            l->shape_w[k] = (int)ceil(sw * imgsz / RECT_STRIDE + 0.5) * RECT_STRIDE;
        }
        free(a);
    } else {
        for (int k = 0; k < l->batches; k++) l->shape_w[k] = l->shape_h[k] = imgsz;
    }
    for (int k = 0; k < l->batches; k++) {
        if (l->shape_w[k] > l->max_w) l->max_w = l->shape_w[k];
        if (l->shape_h[k] > l->max_h) l->max_h = l->shape_h[k];
    }
    return 0;
}

static int slot_alloc(Loader *l, Slot *s) {
    size_t b = (size_t)l->opt.batch, plane = (size_t)l->max_w * (size_t)l->max_h;
    s->batch.images = malloc(sizeof(float) * 3 * plane * b);
    s->batch.class_index = calloc(b, sizeof(int));
    s->batch.dataset_index = calloc(b, sizeof(int));
    s->batch.ratio_pad = calloc(4 * b, sizeof(float));
    s->outs = calloc(b, sizeof *s->outs);
    if (l->opt.task == TASK_SEGMENT) s->batch.masks = malloc(plane / ((size_t)l->opt.mask_ratio * (size_t)l->opt.mask_ratio) * b);
    if (!s->batch.images || !s->batch.class_index || !s->batch.dataset_index || !s->batch.ratio_pad || !s->outs ||
        (l->opt.task == TASK_SEGMENT && !s->batch.masks))
        return yolo_fail("out of memory for a batch of %d at %dx%d", l->opt.batch, l->max_w, l->max_h);
    return 0;
}

static void slot_free(Loader *l, Slot *s) {
    for (int i = 0; s->outs && i < l->opt.batch; i++) sample_out_free(&s->outs[i]);
    free(s->outs);
    free(s->batch.images);
    free(s->batch.targets);
    free(s->batch.masks);
    free(s->batch.class_index);
    free(s->batch.dataset_index);
    free(s->batch.ratio_pad);
}

// Joins the samples' targets in batch order once all are done. Called by the thread that
// finished the last sample, with the lock not held (nobody else touches a completed slot).
static int slot_finish(Slot *s) {
    int total = 0;
    for (int i = 0; i < s->batch.size; i++) total += s->outs[i].n_targets;
    float *t = realloc(s->batch.targets, sizeof *t * 6 * (size_t)(total ? total : 1));
    mallocCheck(t);
    s->batch.targets = t;
    s->batch.n_targets = total;
    for (int i = 0; i < s->batch.size; i++)
        for (int j = 0; j < s->outs[i].n_targets; j++) {
            *t++ = (float)i;
            memcpy(t, &s->outs[i].targets[5 * j], 5 * sizeof *t);
            t += 5;
        }
    return 0;
}

// Makes sample i (dataset image `index`) of slot s. Called without the lock: each sample writes
// only its own parts.
static int make_one(Loader *l, Slot *s, int i, int index) {
    Batch *b = &s->batch;
    size_t plane = (size_t)b->w * (size_t)b->h;
    SampleOut *o = &s->outs[i];
    TRY(sample_make(&l->src, s->epoch, index, b->w, b->h, b->images + 3 * plane * (size_t)i, o));
    b->dataset_index[i] = index;
    b->class_index[i] = o->class_index;
    memcpy(&b->ratio_pad[4 * i], o->ratio_pad, sizeof o->ratio_pad);
    if (b->masks) {
        size_t mplane = plane / ((size_t)l->opt.mask_ratio * (size_t)l->opt.mask_ratio);
        memcpy(b->masks + mplane * (size_t)i, o->mask, mplane);
    }
    return 0;
}

// The dataset image of sample i of a slot. Lock held (the order may be recomputed).
static int image_of(Loader *l, const Slot *s, int i) { return order_of(l, s->epoch)[s->k * l->opt.batch + i]; }

// Takes one sample job from the queued slots, oldest first. Lock held; returns false if none.
static bool take_job(Loader *l, Slot **slot, int *i, int *index) {
    Slot *best = NULL;
    for (int s = 0; s < LOADER_SLOTS; s++) {
        Slot *c = &l->slots[s];
        if (c->state != SLOT_QUEUED || c->next_sample >= c->batch.size) continue;
        if (!best || c->epoch < best->epoch || (c->epoch == best->epoch && c->k < best->k)) best = c;
    }
    if (!best) return false;
    *slot = best;
    *i = best->next_sample++;
    *index = image_of(l, best, *i);
    return true;
}

// Runs one job and records its completion. Lock held on entry and exit.
static void run_job(Loader *l, Slot *s, int i, int index) {
    pthread_mutex_unlock(&l->lock);
    int rc = make_one(l, s, i, index);
    char error[sizeof s->error] = "";
    if (rc != 0) {
        snprintf(error, sizeof error, "%s", yolo_error());
        yolo_error_clear();
    }
    pthread_mutex_lock(&l->lock);
    if (rc != 0 && !s->failed) {
        s->failed = true;
        memcpy(s->error, error, sizeof error);
    }
    if (++s->done_samples == s->batch.size) {
        pthread_mutex_unlock(&l->lock);
        int finish_rc = s->failed ? 0 : slot_finish(s);
        pthread_mutex_lock(&l->lock);
        if (finish_rc != 0) {
            s->failed = true;
            snprintf(s->error, sizeof s->error, "%s", yolo_error());
            yolo_error_clear();
        }
        s->state = SLOT_READY;
        pthread_cond_broadcast(&l->changed);
    }
}

static void *worker_main(void *arg) {
    Loader *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        Slot *s;
        int i, index;
        if (take_job(l, &s, &i, &index)) run_job(l, s, i, index);
        else pthread_cond_wait(&l->changed, &l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

Loader *loader_create(const DatasetSplit *split, const LoaderOptions *opt) {
    Loader *l = calloc(1, sizeof *l);
    if (!l) {
        yolo_fail("out of memory creating the loader");
        return NULL;
    }
    l->split = split;
    l->opt = *opt;
    l->n = split->n;
    if (opt->train && opt->fraction > 0.0f && opt->fraction < 1.0f) {
        l->n = (int)lround(split->n * (double)opt->fraction);
        if (l->n < 1) l->n = 1;
    }
    int fail = 0;
    if (opt->batch < 1 || opt->imgsz < 32 || (opt->task == TASK_SEGMENT && opt->mask_ratio < 1))
        fail = yolo_fail("loader: batch must be >= 1, imgsz >= 32 and mask_ratio >= 1");
    l->batches = (l->n + opt->batch - 1) / opt->batch;
    l->val_order = malloc(sizeof(int) * (size_t)l->n);
    l->shape_w = malloc(sizeof(int) * (size_t)l->batches);
    l->shape_h = malloc(sizeof(int) * (size_t)l->batches);
    for (int s = 0; s < 2; s++) {
        l->perm[s] = malloc(sizeof(int) * (size_t)l->n);
        l->perm_epoch[s] = -1;
    }
    if (!fail && (!l->val_order || !l->shape_w || !l->shape_h || !l->perm[0] || !l->perm[1]))
        fail = yolo_fail("out of memory planning %d batches", l->batches);
    if (!fail) fail = plan_shapes(l);
    for (int s = 0; s < LOADER_SLOTS && !fail; s++) fail = slot_alloc(l, &l->slots[s]);
    if (!fail) fail = image_cache_init(&l->cache, split->n, opt->cache_ram);
    l->src = (SampleSource){.split = split, .n = l->n, .opt = &l->opt, .cache = &l->cache};
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->changed, NULL);
    if (!fail && opt->workers > 0) {
        l->workers = calloc((size_t)opt->workers, sizeof *l->workers);
        if (!l->workers) fail = yolo_fail("out of memory starting %d workers", opt->workers);
        for (int w = 0; !fail && w < opt->workers; w++) {
            if (pthread_create(&l->workers[w], NULL, worker_main, l) != 0) fail = yolo_fail("cannot start loader worker %d", w);
            else l->n_workers++;
        }
    }
    if (fail) {
        loader_destroy(l);
        return NULL;
    }
    return l;
}

void loader_destroy(Loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_broadcast(&l->changed);
    // Workers finish the sample they are on; wait for them before freeing what they write.
    pthread_mutex_unlock(&l->lock);
    for (int w = 0; w < l->n_workers; w++) pthread_join(l->workers[w], NULL);
    free(l->workers);
    for (int s = 0; s < LOADER_SLOTS; s++) slot_free(l, &l->slots[s]);
    image_cache_free(&l->cache);
    free(l->val_order);
    free(l->shape_w);
    free(l->shape_h);
    free(l->perm[0]);
    free(l->perm[1]);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->changed);
    free(l);
}

int loader_batches_per_epoch(const Loader *l) { return l->batches; }

static Slot *find_slot(Loader *l, int epoch, int k) {
    for (int s = 0; s < LOADER_SLOTS; s++) {
        Slot *c = &l->slots[s];
        if (c->state != SLOT_FREE && c->epoch == epoch && c->k == k) return c;
    }
    return NULL;
}

// Queues batch (epoch, k) in a free slot unless it is already there. Lock held.
static Slot *queue(Loader *l, int epoch, int k) {
    Slot *s = find_slot(l, epoch, k);
    if (s) return s;
    for (int i = 0; i < LOADER_SLOTS; i++) {
        s = &l->slots[i];
        if (s->state != SLOT_FREE) continue;
        s->state = SLOT_QUEUED;
        s->epoch = epoch;
        s->k = k;
        s->next_sample = s->done_samples = 0;
        s->failed = false;
        s->error[0] = '\0';
        s->batch.size = batch_size_of(l, k);
        s->batch.w = l->shape_w[k];
        s->batch.h = l->shape_h[k];
        s->batch.n_targets = 0;
        pthread_cond_broadcast(&l->changed);
        return s;
    }
    return NULL;
}

// The batch after (epoch, k) in training order, or false past the last one.
static bool next_key(const Loader *l, int *epoch, int *k) {
    if (++*k < l->batches) return true;
    if (!l->opt.train || *epoch + 1 >= l->opt.epochs) return false;
    ++*epoch;
    *k = 0;
    return true;
}

int loader_get(Loader *l, int epoch, int k, Batch *out) {
    if (k < 0 || k >= l->batches || epoch < 0) return yolo_fail("loader: batch %d of epoch %d does not exist (%d per epoch)", k, epoch, l->batches);
    if (!l->opt.train) epoch = 0; // validation batches do not depend on the epoch
    pthread_mutex_lock(&l->lock);
    for (int s = 0; s < LOADER_SLOTS; s++)
        if (l->slots[s].state == SLOT_HELD) l->slots[s].state = SLOT_FREE;
    Slot *slot;
    while (!(slot = queue(l, epoch, k))) {
        // Every slot holds a prefetched batch that was not asked for (a jump, e.g. on resume):
        // drop one that no worker is making, or wait for one to finish and drop that.
        for (int s = 0; s < LOADER_SLOTS && !slot; s++) {
            Slot *c = &l->slots[s];
            if (c->state == SLOT_READY || (c->state == SLOT_QUEUED && c->next_sample == 0)) {
                c->state = SLOT_FREE;
                slot = c;
            }
        }
        if (!slot) pthread_cond_wait(&l->changed, &l->lock);
    }
    // Prefetch: the following batches go into the remaining free slots.
    int pe = epoch, pk = k;
    for (int ahead = 1; ahead < LOADER_SLOTS && next_key(l, &pe, &pk); ahead++) queue(l, pe, pk);
    // The caller makes samples of its own batch too (all of them when there are no workers),
    // then waits for the ones workers are still making.
    while (slot->state == SLOT_QUEUED) {
        if (slot->next_sample < slot->batch.size) {
            int i = slot->next_sample++;
            run_job(l, slot, i, image_of(l, slot, i));
        } else {
            pthread_cond_wait(&l->changed, &l->lock);
        }
    }
    slot->state = SLOT_HELD;
    int rc = 0;
    if (slot->failed) rc = yolo_fail("%s", slot->error);
    else *out = slot->batch;
    pthread_mutex_unlock(&l->lock);
    return rc;
}
