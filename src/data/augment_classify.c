#include "data/augment_classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/pil_ops.h"

enum { CROP_DRAWS = 40, FLIP_DRAWS = 2, RANDAUGMENT_DRAWS = 4, JITTER_DRAWS = 8, ERASE_DRAWS = 41 };
enum { RANDAUGMENT_OPS = 2, MAGNITUDE_BIN = 9, MAGNITUDE_BINS = 31 };

// torch.randint(0, n): an integer in [0, n).
static int draw_below(RngCursor *rng, int n) {
    int v = (int)(rng_next_uniform(rng) * (float)n);
    return v < n ? v : n - 1;
}

// Python's round() for the sizes torchvision computes: halves to even, which nearbyint does in
// the default rounding mode.
static int round_half_even(double v) { return (int)nearbyint(v); }

void classify_crop_box(int w, int h, float scale_min, RngCursor *rng, int *x, int *y, int *cw, int *ch) {
    uint64_t end = rng->next + CROP_DRAWS;
    double area = (double)w * h, log_lo = log(3.0 / 4.0), log_hi = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (scale_min + (1.0 - scale_min) * rng_next_uniform(rng));
        double aspect = exp(log_lo + (log_hi - log_lo) * rng_next_uniform(rng));
        int bw = round_half_even(sqrt(target * aspect)), bh = round_half_even(sqrt(target / aspect));
        int top = draw_below(rng, h - bh + 1 > 0 ? h - bh + 1 : 1), left = draw_below(rng, w - bw + 1 > 0 ? w - bw + 1 : 1);
        if (bw > 0 && bw <= w && bh > 0 && bh <= h) {
            *x = left;
            *y = top;
            *cw = bw;
            *ch = bh;
            rng->next = end;
            return;
        }
    }
    // No try fitted: the centre crop of the whole image, its ratio clamped to 3/4..4/3.
    double ratio = (double)w / h;
    *cw = w;
    *ch = h;
    if (ratio < 3.0 / 4.0) *ch = round_half_even(w / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0) *cw = round_half_even(h * (4.0 / 3.0));
    *x = (w - *cw) / 2;
    *y = (h - *ch) / 2;
    rng->next = end;
}

static int crop(const Image *src, int x, int y, int w, int h, Image *out) {
    TRY(image_alloc(out, w, h));
    for (int r = 0; r < h; r++)
        memcpy(out->rgb + (size_t)r * (size_t)w * 3, src->rgb + ((size_t)(y + r) * (size_t)src->w + (size_t)x) * 3, (size_t)w * 3);
    return 0;
}

static void flip_x(Image *img) {
    for (int y = 0; y < img->h; y++) {
        uint8_t *row = img->rgb + (size_t)y * (size_t)img->w * 3;
        for (int a = 0, b = img->w - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[a * 3 + c];
                row[a * 3 + c] = row[b * 3 + c];
                row[b * 3 + c] = t;
            }
    }
}

static void flip_y(Image *img) {
    size_t stride = (size_t)img->w * 3;
    for (int a = 0, b = img->h - 1; a < b; a++, b--)
        for (size_t i = 0; i < stride; i++) {
            uint8_t t = img->rgb[a * stride + i];
            img->rgb[a * stride + i] = img->rgb[b * stride + i];
            img->rgb[b * stride + i] = t;
        }
}

// ---- RandAugment ----------------------------------------------------------------------------

static const char *const RA_NAMES[RA_COUNT] = {"Identity",   "ShearX",   "ShearY",   "TranslateX", "TranslateY",
                                               "Rotate",     "Brightness", "Color",  "Contrast",   "Sharpness",
                                               "Posterize",  "Solarize", "AutoContrast", "Equalize"};

const char *randaugment_name(int op) { return op >= 0 && op < RA_COUNT ? RA_NAMES[op] : "?"; }

bool randaugment_signed(int op) { return op >= RA_SHEAR_X && op <= RA_SHARPNESS; }

// torch.linspace(start, end, 31)[bin] in float32, as torch computes it (start + step * bin in
// the first half of the range).
static float linspace_bin(float start, float end) {
    float step = (end - start) / (float)(MAGNITUDE_BINS - 1);
    return start + step * (float)MAGNITUDE_BIN;
}

double randaugment_magnitude(int op, int w, int h) {
    switch (op) {
    case RA_SHEAR_X:
    case RA_SHEAR_Y:
        return linspace_bin(0.0f, 0.3f);
    case RA_TRANSLATE_X:
        return linspace_bin(0.0f, (float)(150.0 / 331.0 * w));
    case RA_TRANSLATE_Y:
        return linspace_bin(0.0f, (float)(150.0 / 331.0 * h));
    case RA_ROTATE:
        return linspace_bin(0.0f, 30.0f);
    case RA_BRIGHTNESS:
    case RA_COLOR:
    case RA_CONTRAST:
    case RA_SHARPNESS:
        return linspace_bin(0.0f, 0.9f);
    case RA_POSTERIZE: // 8 - round(bin / 7.5), in float32
        return 8 - (int)nearbyintf((float)MAGNITUDE_BIN / ((MAGNITUDE_BINS - 1) / 4.0f));
    case RA_SOLARIZE:
        return linspace_bin(255.0f, 0.0f);
    default:
        return 0.0;
    }
}

// An affine warp in place.
static int warp(Image *img, const double m[6]) {
    Image out;
    TRY(pil_affine(img, m, &out));
    image_free(img);
    *img = out;
    return 0;
}

int randaugment_apply(Image *img, int op, double magnitude) {
    double m[6];
    double shear = atan(magnitude) * 180.0 / M_PI; // the shear angle whose tangent is the magnitude
    switch (op) {
    case RA_SHEAR_X: // about the top-left corner
        pil_inverse_affine_matrix(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, shear, 0.0, m);
        return warp(img, m);
    case RA_SHEAR_Y:
        pil_inverse_affine_matrix(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, shear, m);
        return warp(img, m);
    case RA_TRANSLATE_X: // whole pixels, truncated towards zero
        pil_inverse_affine_matrix(img->w * 0.5, img->h * 0.5, 0.0, (double)(int)magnitude, 0.0, 1.0, 0.0, 0.0, m);
        return warp(img, m);
    case RA_TRANSLATE_Y:
        pil_inverse_affine_matrix(img->w * 0.5, img->h * 0.5, 0.0, 0.0, (double)(int)magnitude, 1.0, 0.0, 0.0, m);
        return warp(img, m);
    case RA_ROTATE: {
        Image out;
        TRY(pil_rotate(img, magnitude, &out));
        image_free(img);
        *img = out;
        return 0;
    }
    case RA_BRIGHTNESS:
        pil_brightness(img, (float)(1.0 + magnitude));
        return 0;
    case RA_COLOR:
        pil_color(img, (float)(1.0 + magnitude));
        return 0;
    case RA_CONTRAST:
        pil_contrast(img, (float)(1.0 + magnitude));
        return 0;
    case RA_SHARPNESS:
        return pil_sharpness(img, (float)(1.0 + magnitude));
    case RA_POSTERIZE:
        pil_posterize(img, (int)magnitude);
        return 0;
    case RA_SOLARIZE:
        pil_solarize(img, magnitude);
        return 0;
    case RA_AUTOCONTRAST:
        pil_autocontrast(img);
        return 0;
    case RA_EQUALIZE:
        pil_equalize(img);
        return 0;
    default:
        return 0; // Identity
    }
}

// Two operations drawn uniformly from the 14, each negated with probability 1/2 when signed.
static int randaugment(Image *img, RngCursor *rng) {
    for (int k = 0; k < RANDAUGMENT_OPS; k++) {
        int op = draw_below(rng, RA_COUNT);
        bool negate = rng_next_uniform(rng) < 0.5f;
        double magnitude = randaugment_magnitude(op, img->w, img->h);
        if (randaugment_signed(op) && negate) magnitude = -magnitude;
        TRY(randaugment_apply(img, op, magnitude));
    }
    return 0;
}

// ColorJitter: the four adjustments in a random order (torch.randperm(4)), each with a factor
// drawn from its range; a gain of 0 turns its adjustment off.
static int color_jitter(Image *img, const ClassifyAugment *p, RngCursor *rng) {
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; i--) { // Fisher-Yates
        int j = draw_below(rng, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    float gains[4] = {p->hsv_v, p->hsv_v, p->hsv_s, p->hsv_h}, factor[4];
    for (int i = 0; i < 3; i++) {
        float lo = 1.0f - gains[i] > 0.0f ? 1.0f - gains[i] : 0.0f, hi = 1.0f + gains[i];
        factor[i] = lo + (hi - lo) * rng_next_uniform(rng);
    }
    factor[3] = p->hsv_h * (2.0f * rng_next_uniform(rng) - 1.0f);
    for (int k = 0; k < 4; k++) {
        int which = order[k];
        if (gains[which] <= 0.0f) continue;
        if (which == 0) pil_brightness(img, factor[0]);
        else if (which == 1) pil_contrast(img, factor[1]);
        else if (which == 2) pil_color(img, factor[2]);
        else pil_hue(img, factor[3]);
    }
    return 0;
}

// RandomErasing on the CHW floats: with probability p, up to 10 tries of a box of 2%..33% of the
// area and log-uniform ratio 0.3..3.3 that fits strictly inside; zeroed.
static void random_erasing(float *dst, int size, float p, RngCursor *rng) {
    uint64_t end = rng->next + ERASE_DRAWS;
    if (rng_next_uniform(rng) < p) {
        double area = (double)size * size, log_lo = log(0.3), log_hi = log(3.3);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (0.02 + (0.33 - 0.02) * rng_next_uniform(rng));
            double aspect = exp(log_lo + (log_hi - log_lo) * rng_next_uniform(rng));
            int h = round_half_even(sqrt(target * aspect)), w = round_half_even(sqrt(target / aspect));
            int top = draw_below(rng, size - h + 1 > 0 ? size - h + 1 : 1);
            int left = draw_below(rng, size - w + 1 > 0 ? size - w + 1 : 1);
            if (!(h < size && w < size)) continue;
            for (int c = 0; c < 3; c++)
                for (int y = top; y < top + h; y++)
                    memset(dst + ((size_t)c * size + (size_t)y) * size + left, 0, sizeof(float) * (size_t)w);
            break;
        }
    }
    rng->next = end;
}

void classify_to_floats(const Image *img, float *dst) {
    size_t plane = (size_t)img->w * (size_t)img->h;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < 3; c++) dst[c * plane + p] = (float)img->rgb[3 * p + (size_t)c] / 255.0f;
}

int classify_train_transform(const Image *src, const ClassifyAugment *p, RngCursor *rng, float *dst) {
    int x, y, cw, ch;
    classify_crop_box(src->w, src->h, p->scale_min, rng, &x, &y, &cw, &ch);
    Image part, img;
    TRY(crop(src, x, y, cw, ch, &part));
    int rc = pil_resize_bilinear(&part, p->imgsz, p->imgsz, &img);
    image_free(&part);
    TRY(rc);
    if (rng_next_uniform(rng) < p->fliplr) flip_x(&img);
    if (rng_next_uniform(rng) < p->flipud) flip_y(&img);
    // Both draw their numbers whichever runs, so that switching one does not move later draws.
    RngCursor ra = *rng;
    rng->next += RANDAUGMENT_DRAWS;
    RngCursor jitter = *rng;
    rng->next += JITTER_DRAWS;
    rc = p->randaugment ? randaugment(&img, &ra) : color_jitter(&img, p, &jitter);
    if (rc == 0) {
        classify_to_floats(&img, dst);
        random_erasing(dst, p->imgsz, p->erasing, rng);
    }
    image_free(&img);
    return rc;
}

void classify_val_plan(int w, int h, int imgsz, int *rw, int *rh, int *left, int *top) {
    bool narrow = w <= h; // the width is the shorter side (ties too, as torchvision)
    int s = narrow ? w : h, l = narrow ? h : w;
    int other = (int)((double)imgsz * l / s);
    *rw = narrow ? imgsz : other;
    *rh = narrow ? other : imgsz;
    *top = round_half_even((*rh - imgsz) / 2.0);
    *left = round_half_even((*rw - imgsz) / 2.0);
}

int classify_val_image(const Image *src, int imgsz, Image *out) {
    int w, h, left, top;
    classify_val_plan(src->w, src->h, imgsz, &w, &h, &left, &top);
    Image sized;
    TRY(pil_resize_bilinear(src, w, h, &sized));
    int rc = crop(&sized, left, top, imgsz, imgsz, out);
    image_free(&sized);
    return rc;
}

int classify_val_transform(const Image *src, int imgsz, float *dst) {
    Image img;
    TRY(classify_val_image(src, imgsz, &img));
    classify_to_floats(&img, dst);
    image_free(&img);
    return 0;
}
