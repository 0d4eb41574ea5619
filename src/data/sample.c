#include "data/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

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

// Classify training: RandomResizedCrop(scale (crop_scale_min, 1), ratio 3/4..4/3), horizontal
// flip, HSV jitter (our stand-in for RandAugment), then random erasing on the floats.
static int classify_train(const SampleSource *src, int epoch, int index, float *dst, SampleOut *out) {
    const LoaderOptions *o = src->opt;
    RngCursor rng = rng_cursor(o->seed, rng_stream(RNG_AUGMENT, (uint32_t)epoch, (uint32_t)index));
    Loaded l;
    TRY(load_image(src, index, &l));
    const Image *im = &l.img;
    double area = (double)im->w * im->h;
    int cw = im->w, ch = im->h, cx = 0, cy = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (o->crop_scale_min + (1.0 - o->crop_scale_min) * rng_next_uniform(&rng));
        double aspect = exp(log(3.0 / 4.0) + (log(4.0 / 3.0) - log(3.0 / 4.0)) * rng_next_uniform(&rng));
        int w = (int)lround(sqrt(target * aspect)), h = (int)lround(sqrt(target / aspect));
        float ux = rng_next_uniform(&rng), uy = rng_next_uniform(&rng);
        if (w > 0 && h > 0 && w <= im->w && h <= im->h) {
            cw = w;
            ch = h;
            cx = (int)(ux * (float)(im->w - w + 1));
            cy = (int)(uy * (float)(im->h - h + 1));
            break;
        }
    }
    Image crop, sized;
    int rc = image_alloc(&crop, cw, ch);
    if (rc == 0) {
        for (int y = 0; y < ch; y++)
            memcpy(crop.rgb + (size_t)y * cw * 3, im->rgb + ((size_t)(cy + y) * im->w + (size_t)cx) * 3, (size_t)cw * 3);
        rc = image_resize_linear(&crop, o->imgsz, o->imgsz, &sized);
        image_free(&crop);
    }
    loaded_free(&l);
    TRY(rc);
    Sample s = {.img = sized};
    augment_hsv(&s.img, &o->aug, &rng);
    augment_flip(&s, &o->aug, &rng);
    write_pixels(&s.img, dst);
    float erase_draw = rng_next_uniform(&rng);
    for (int attempt = 0; attempt < 10 && erase_draw < o->erasing; attempt++) {
        double plane = (double)o->imgsz * o->imgsz;
        double target = plane * (0.02 + (0.33 - 0.02) * rng_next_uniform(&rng));
        double aspect = exp(log(0.3) + (log(3.3) - log(0.3)) * rng_next_uniform(&rng));
        int h = (int)lround(sqrt(target * aspect)), w = (int)lround(sqrt(target / aspect));
        float uy = rng_next_uniform(&rng), ux = rng_next_uniform(&rng);
        if (h >= o->imgsz || w >= o->imgsz) continue;
        int y0 = (int)(uy * (float)(o->imgsz - h + 1)), x0 = (int)(ux * (float)(o->imgsz - w + 1));
        for (int c = 0; c < 3; c++)
            for (int y = y0; y < y0 + h; y++) memset(dst + ((size_t)c * o->imgsz + (size_t)y) * o->imgsz + x0, 0, sizeof(float) * (size_t)w);
        break;
    }
    out->class_index = src->split->class_index[index];
    sample_free(&s);
    return 0;
}

// Classify validation: shorter side to imgsz, centre crop imgsz x imgsz (torchvision's rules).
static int classify_val(const SampleSource *src, int index, float *dst, SampleOut *out) {
    int imgsz = src->opt->imgsz;
    Loaded l;
    TRY(load_image(src, index, &l));
    const Image *im = &l.img;
    bool wide = im->w >= im->h;
    int w = wide ? (int)((double)imgsz * im->w / im->h) : imgsz;
    int h = wide ? imgsz : (int)((double)imgsz * im->h / im->w);
    Image sized, crop;
    int rc = image_resize_linear(im, w, h, &sized);
    loaded_free(&l);
    TRY(rc);
    rc = image_alloc(&crop, imgsz, imgsz);
    if (rc == 0) {
        int top = (int)lround((h - imgsz) / 2.0), left = (int)lround((w - imgsz) / 2.0);
        for (int y = 0; y < imgsz; y++)
            memcpy(crop.rgb + (size_t)y * imgsz * 3, sized.rgb + ((size_t)(top + y) * w + (size_t)left) * 3, (size_t)imgsz * 3);
        write_pixels(&crop, dst);
        image_free(&crop);
    }
    image_free(&sized);
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
