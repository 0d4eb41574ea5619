#include "data/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/augment_classify.h"

int image_cache_init(ImageCache *c, int n, bool enabled) {
    memset(c, 0, sizeof *c);
    c->enabled = enabled;
    if (!enabled) return 0;
    c->images = calloc((size_t)n, sizeof *c->images);
    mallocCheck(c->images);
    c->n = n;
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

void image_cache_free(ImageCache *c) {
    if (!c->enabled) return;
    for (int i = 0; i < c->n; i++) image_free(&c->images[i]);
    free(c->images);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
}

// The image as the pipelines start from it: detect/segment resize the long side to imgsz
// (Ultralytics' load_image); classify keeps the decoded size, its transforms crop first.
static int load_fresh(const SampleSource *src, int index, Image *out) {
    const char *path = src->split->image_paths[index];
    Image raw;
    TRY(image_read(path, &raw));
    if (src->opt->task == TASK_CLASSIFY) {
        *out = raw;
        return 0;
    }
    int imgsz = src->opt->imgsz, w0 = raw.w, h0 = raw.h;
    double r = (double)imgsz / (w0 > h0 ? w0 : h0);
    if (r == 1.0) {
        *out = raw;
        return 0;
    }
    int w = (int)fmin(ceil(w0 * r), imgsz), h = (int)fmin(ceil(h0 * r), imgsz);
    int rc = image_resize_linear(&raw, w < 1 ? 1 : w, h < 1 ? 1 : h, out);
    image_free(&raw);
    return rc;
}

// A borrowed cached image (owned = false) or a fresh one the caller frees.
typedef struct {
    Image img;
    bool owned;
} Loaded;

static int load_image(const SampleSource *src, int index, Loaded *out) {
    ImageCache *c = src->cache;
    if (!c->enabled) {
        out->owned = true;
        return load_fresh(src, index, &out->img);
    }
    out->owned = false;
    pthread_mutex_lock(&c->lock);
    bool have = c->images[index].rgb != NULL;
    pthread_mutex_unlock(&c->lock);
    if (!have) {
        // Decoded outside the lock; if two threads race, both results are equal and one is kept.
        Image fresh;
        TRY(load_fresh(src, index, &fresh));
        pthread_mutex_lock(&c->lock);
        if (c->images[index].rgb) image_free(&fresh);
        else c->images[index] = fresh;
        pthread_mutex_unlock(&c->lock);
    }
    out->img = c->images[index]; // never freed or moved while the loader lives
    return 0;
}

static void loaded_free(Loaded *l) {
    if (l->owned) image_free(&l->img);
}

static int load_sample(const SampleSource *src, int index, Sample *s) {
    Loaded l;
    TRY(load_image(src, index, &l));
    int rc = image_alloc(&s->img, l.img.w, l.img.h);
    if (rc == 0) memcpy(s->img.rgb, l.img.rgb, (size_t)l.img.w * (size_t)l.img.h * 3);
    loaded_free(&l);
    TRY(rc);
    return instances_from_labels(&src->split->labels[index], s->img.w, s->img.h, &s->inst);
}

// Pixels to CHW floats in [0, 1]; the caller's buffer is exactly w x h.
static void write_pixels(const Image *img, float *dst) {
    size_t plane = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) dst[c * plane + p] = (float)img->rgb[3 * p + (size_t)c] * (1.0f / 255.0f);
}

static int write_targets(const Instances *in, int w, int h, SampleOut *out) {
    if (in->n > out->cap_targets) {
        float *grown = realloc(out->targets, sizeof *grown * 5 * (size_t)in->n);
        mallocCheck(grown);
        out->targets = grown;
        out->cap_targets = in->n;
    }
    out->n_targets = in->n;
    for (int i = 0; i < in->n; i++) {
        const float *b = &in->boxes[4 * i];
        float *t = &out->targets[5 * i];
        t[0] = (float)in->cls[i];
        t[1] = 0.5f * (b[0] + b[2]) / (float)w;
        t[2] = 0.5f * (b[1] + b[3]) / (float)h;
        t[3] = (b[2] - b[0]) / (float)w;
        t[4] = (b[3] - b[1]) / (float)h;
    }
    return 0;
}

// Detect/segment training: mosaic (or letterbox) and perspective, HSV, flips; spec §8 order.
static int detect_train(const SampleSource *src, int epoch, int index, Sample *out) {
    const LoaderOptions *o = src->opt;
    RngCursor rng = rng_cursor(o->seed, rng_stream(RNG_AUGMENT, (uint32_t)epoch, (uint32_t)index));
    bool mosaic_on = o->aug.mosaic > 0.0f && epoch < o->epochs - o->close_mosaic;
    // Drawn whatever mosaic_on is, so the draws after it do not shift when close_mosaic starts.
    float mosaic_draw = rng_next_uniform(&rng);
    int partners[3];
    for (int k = 0; k < 3; k++) partners[k] = (int)(rng_next_uniform(&rng) * (float)src->n) % src->n;
    Sample s = {0};
    int rc;
    if (mosaic_on && mosaic_draw < o->aug.mosaic) {
        Sample parts[4];
        memset(parts, 0, sizeof parts);
        rc = load_sample(src, index, &parts[0]);
        for (int k = 0; k < 3 && rc == 0; k++) rc = load_sample(src, partners[k], &parts[k + 1]);
        if (rc == 0) rc = augment_mosaic4(parts, o->imgsz, &rng, &s);
        for (int k = 0; k < 4; k++) sample_free(&parts[k]);
        if (rc == 0) rc = augment_random_perspective(&s, &o->aug, -o->imgsz / 2, &rng);
    } else {
        Sample plain = {0};
        float ratio_pad[4];
        rc = load_sample(src, index, &plain);
        if (rc == 0) rc = letterbox(&plain, o->imgsz, o->imgsz, false, &s, ratio_pad);
        sample_free(&plain);
        if (rc == 0) rc = augment_random_perspective(&s, &o->aug, 0, &rng);
    }
    if (rc == 0) {
        augment_hsv(&s.img, &o->aug, &rng);
        augment_flip(&s, &o->aug, &rng);
        *out = s;
    } else {
        sample_free(&s);
    }
    return rc;
}

static int detect_val(const SampleSource *src, int index, int w, int h, Sample *out, float ratio_pad[4]) {
    Sample plain = {0};
    TRY(load_sample(src, index, &plain));
    int rc = letterbox(&plain, w, h, false, out, ratio_pad);
    // Map back to the original image, not the long-side-resized one the pipeline started from.
    double rx = (double)plain.img.w / src->split->width[index], ry = (double)plain.img.h / src->split->height[index];
    ratio_pad[0] = (float)(ratio_pad[0] * rx);
    ratio_pad[1] = (float)(ratio_pad[1] * ry);
    sample_free(&plain);
    return rc;
}

// Classify training and validation (data/augment_classify.h) on the decoded image.
static int classify_train(const SampleSource *src, int epoch, int index, float *dst, SampleOut *out) {
    const LoaderOptions *o = src->opt;
    RngCursor rng = rng_cursor(o->seed, rng_stream(RNG_AUGMENT, (uint32_t)epoch, (uint32_t)index));
    ClassifyAugment p = {.imgsz = o->imgsz, .scale_min = o->crop_scale_min, .fliplr = o->aug.fliplr,
                         .flipud = o->aug.flipud, .randaugment = o->randaugment, .hsv_h = o->aug.hsv_h,
                         .hsv_s = o->aug.hsv_s, .hsv_v = o->aug.hsv_v, .erasing = o->erasing};
    Loaded l;
    TRY(load_image(src, index, &l));
    int rc = classify_train_transform(&l.img, &p, &rng, dst);
    loaded_free(&l);
    out->class_index = src->split->class_index[index];
    return rc;
}

static int classify_val(const SampleSource *src, int index, float *dst, SampleOut *out) {
    Loaded l;
    TRY(load_image(src, index, &l));
    int rc = classify_val_transform(&l.img, src->opt->imgsz, dst);
    loaded_free(&l);
    out->class_index = src->split->class_index[index];
    return rc;
}

int sample_make(const SampleSource *src, int epoch, int index, int w, int h, float *dst, SampleOut *out) {
    const LoaderOptions *o = src->opt;
    out->n_targets = 0;
    if (o->task == TASK_CLASSIFY) return o->train ? classify_train(src, epoch, index, dst, out) : classify_val(src, index, dst, out);
    Sample s = {0};
    if (o->train) TRY(detect_train(src, epoch, index, &s));
    else TRY(detect_val(src, index, w, h, &s, out->ratio_pad));
    int rc = 0;
    if (s.img.w != w || s.img.h != h) rc = yolo_fail("internal: sample is %dx%d, batch wants %dx%d", s.img.w, s.img.h, w, h);
    if (rc == 0 && o->task == TASK_SEGMENT) {
        int mw = w / o->mask_ratio, mh = h / o->mask_ratio;
        if (mw * mh > out->mask_cap) {
            uint8_t *grown = realloc(out->mask, (size_t)mw * (size_t)mh);
            if (!grown) rc = yolo_fail("out of memory for a %dx%d mask", mw, mh);
            else {
                out->mask = grown;
                out->mask_cap = mw * mh;
            }
        }
        if (rc == 0) rc = rasterize_overlap_masks(&s, o->mask_ratio, out->mask);
    }
    if (rc == 0) {
        write_pixels(&s.img, dst);
        rc = write_targets(&s.inst, w, h, out);
    }
    sample_free(&s);
    return rc;
}

void sample_out_free(SampleOut *o) {
    free(o->targets);
    free(o->mask);
    memset(o, 0, sizeof *o);
}
