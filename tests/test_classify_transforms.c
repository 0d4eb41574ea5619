// The classify transforms against torchvision 0.14 and Pillow 9 themselves.
//
// tests/fixtures/classify-transforms.safetensors was written by
// scripts/reference/make_classify_fixtures.py: Image.resize(BILINEAR) of a 45x31 image to several
// sizes, Ultralytics' classify_transforms of it and of its transpose, every RandAugment operation
// at the default magnitude (both signs) and the four ColorJitter adjustments at fixed factors on
// a 24x24 image. The random draws are ours; the pixel arithmetic must be the reference's.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/augment_classify.h"
#include "data/pil_ops.h"
#include "io/safetensors.h"
#include "test.h"

static const char *FIXTURE = "tests/fixtures/classify-transforms.safetensors";

// A fixture image (uint8 values stored as F32, HWC) into `img`; false after recording a failure.
static bool fixture_image(const SafeTensors *st, const char *name, Image *img) {
    const StTensor *t = safetensors_find(st, name);
    if (!t || t->dtype != ST_F32 || t->ndim != 3 || t->shape[2] != 3) {
        test_fail(__FILE__, __LINE__, "%s: fixture lacks an HxWx3 F32 image", name);
        return false;
    }
    if (image_alloc(img, (int)t->shape[1], (int)t->shape[0]) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return false;
    }
    float *v = malloc(sizeof(float) * (size_t)t->numel);
    if (!v) {
        image_free(img);
        return false;
    }
    safetensors_copy_f32(t, v);
    for (int64_t i = 0; i < t->numel; i++) img->rgb[i] = (uint8_t)v[i];
    free(v);
    return true;
}

// Pixels of `got` that differ from the fixture's `name`: at most `allowed` of them, by at most
// `max_diff`. Exact operations pass 0, 0.
static void expect_image(const SafeTensors *st, const char *name, const Image *got, int allowed, int max_diff) {
    Image want;
    if (!fixture_image(st, name, &want)) return;
    if (want.w != got->w || want.h != got->h) {
        test_fail(__FILE__, __LINE__, "%s: ours %dx%d, reference %dx%d", name, got->w, got->h, want.w, want.h);
        image_free(&want);
        return;
    }
    int differ = 0, worst = 0, at = -1;
    for (int i = 0; i < want.w * want.h * 3; i++) {
        int d = abs((int)got->rgb[i] - (int)want.rgb[i]);
        if (d > worst) {
            worst = d;
            at = i;
        }
        differ += d != 0;
    }
    if (differ > allowed || worst > max_diff)
        test_fail(__FILE__, __LINE__, "%s: %d of %d values differ (allowed %d), worst by %d at pixel (%d, %d) channel %d: ours %d, reference %d",
                  name, differ, want.w * want.h * 3, allowed, worst, at / 3 % want.w, at / 3 / want.w, at % 3,
                  at >= 0 ? got->rgb[at] : 0, at >= 0 ? want.rgb[at] : 0);
    image_free(&want);
}

static bool open_fixture(SafeTensors *st) {
    if (safetensors_load(FIXTURE, st) == 0) return true;
    test_fail(__FILE__, __LINE__, "%s", yolo_error());
    yolo_error_clear();
    return false;
}

// Pillow's antialiased bilinear resize, bit for bit: shrinking, enlarging, one axis, both ways.
TEST(classify_pil_resize_matches_pillow) {
    SafeTensors st;
    if (!open_fixture(&st)) return;
    Image src;
    if (fixture_image(&st, "source", &src)) {
        static const int sizes[][2] = {{16, 11}, {70, 50}, {20, 31}, {45, 20}, {13, 40}, {45, 31}};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char name[32];
            snprintf(name, sizeof name, "resize.%dx%d", sizes[i][0], sizes[i][1]);
            Image out;
            EXPECT_OK(pil_resize_bilinear(&src, sizes[i][0], sizes[i][1], &out));
            expect_image(&st, name, &out, 0, 0);
            image_free(&out);
        }
        image_free(&src);
    }
    safetensors_free(&st);
}

// classify_transforms (Resize of the shorter side, CenterCrop, ToTensor) bit for bit, on a wide
// image and on a tall one whose crop margin is odd (torchvision rounds 4.5 to 4).
TEST(classify_val_transform_matches_ultralytics) {
    SafeTensors st;
    if (!open_fixture(&st)) return;
    Image src, tall;
    if (fixture_image(&st, "source", &src) && image_alloc(&tall, src.h, src.w) == 0) {
        for (int y = 0; y < src.h; y++)
            for (int x = 0; x < src.w; x++) memcpy(tall.rgb + ((size_t)x * src.h + y) * 3, src.rgb + ((size_t)y * src.w + x) * 3, 3);
        const struct {
            const char *name;
            const Image *img;
            int size;
        } cases[] = {{"val.wide", &src, 24}, {"val.tall", &tall, 20}};
        for (int k = 0; k < 2; k++) {
            int n = 3 * cases[k].size * cases[k].size;
            const StTensor *t = safetensors_find(&st, cases[k].name);
            float *want = malloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)n);
            EXPECT(t && t->numel == n && want && got);
            if (t && t->numel == n && want && got) {
                safetensors_copy_f32(t, want);
                EXPECT_OK(classify_val_transform(cases[k].img, cases[k].size, got));
                int differ = 0;
                for (int i = 0; i < n; i++) differ += got[i] != want[i];
                if (differ) test_fail(__FILE__, __LINE__, "%s: %d of %d values differ", cases[k].name, differ, n);
            }
            free(want);
            free(got);
        }
        image_free(&tall);
    }
    image_free(&src);
    safetensors_free(&st);
}

// Every RandAugment operation at the default magnitude (bin 9 of 31), both signs: the magnitude
// table as torch computes it in float32, and the pixels.
TEST(classify_randaugment_operations_match_torchvision) {
    SafeTensors st;
    if (!open_fixture(&st)) return;
    Image square;
    if (!fixture_image(&st, "square", &square)) {
        safetensors_free(&st);
        return;
    }
    for (int op = 0; op < RA_COUNT; op++) {
        char key[64];
        snprintf(key, sizeof key, "magnitude.%s", randaugment_name(op));
        const char *want = safetensors_metadata(&st, key);
        double magnitude = randaugment_magnitude(op, square.w, square.h);
        if (!want || strtod(want, NULL) != magnitude)
            test_fail(__FILE__, __LINE__, "%s: magnitude %.17g, torchvision %s", randaugment_name(op), magnitude, want ? want : "(none)");
        for (int sign = 0; sign < (randaugment_signed(op) ? 2 : 1); sign++) {
            Image img;
            if (image_alloc(&img, square.w, square.h) != 0) break;
            memcpy(img.rgb, square.rgb, (size_t)square.w * square.h * 3);
            EXPECT_OK(randaugment_apply(&img, op, sign ? -magnitude : magnitude));
            snprintf(key, sizeof key, "op.%s.%s", randaugment_name(op), sign ? "minus" : "plus");
            expect_image(&st, key, &img, 0, 0);
            image_free(&img);
        }
    }
    image_free(&square);
    safetensors_free(&st);
}

// ColorJitter's adjustments (brightness, contrast, saturation, hue) at fixed factors.
TEST(classify_color_jitter_adjustments_match_torchvision) {
    SafeTensors st;
    if (!open_fixture(&st)) return;
    Image square;
    if (!fixture_image(&st, "square", &square)) {
        safetensors_free(&st);
        return;
    }
    static const char *names[] = {"brightness", "contrast", "saturation", "hue_plus", "hue_minus"};
    for (int k = 0; k < 5; k++) {
        char key[64];
        snprintf(key, sizeof key, "jitter.%s", names[k]);
        const char *text = safetensors_metadata(&st, key);
        float factor = text ? (float)strtod(text, NULL) : 1.0f;
        EXPECT(text != NULL);
        Image img;
        if (image_alloc(&img, square.w, square.h) != 0) break;
        memcpy(img.rgb, square.rgb, (size_t)square.w * square.h * 3);
        if (k == 0) pil_brightness(&img, factor);
        else if (k == 1) pil_contrast(&img, factor);
        else if (k == 2) pil_color(&img, factor);
        else pil_hue(&img, factor);
        expect_image(&st, key, &img, 0, 0);
        image_free(&img);
    }
    image_free(&square);
    safetensors_free(&st);
}

// RandomResizedCrop's fallback when no try fits: a 100x10 strip at scale (1, 1) needs a box of
// area 1000, at least 27 high; the centre crop at the widest ratio 4/3 is 13x10 (round(13.33)).
// Every call takes its 40 draws.
TEST(classify_crop_box_falls_back_to_the_centre_crop) {
    RngCursor rng = rng_cursor(3, rng_stream(RNG_TEST, 40, 0));
    int x, y, w, h;
    classify_crop_box(100, 10, 1.0f, &rng, &x, &y, &w, &h);
    EXPECT(w == 13 && h == 10 && x == 43 && y == 0);
    EXPECT(rng.next == 40);
    // Tall: 10x100 at the narrowest ratio 3/4 keeps the width and takes round(10 / 0.75) = 13 rows.
    classify_crop_box(10, 100, 1.0f, &rng, &x, &y, &w, &h);
    EXPECT(w == 10 && h == 13 && x == 0 && y == 43);
    EXPECT(rng.next == 80);
    // An ordinary image: a box inside it, of at least half the area, ratio within 3/4..4/3 up to
    // the rounding of its sides.
    for (int k = 0; k < 50; k++) {
        classify_crop_box(120, 90, 0.5f, &rng, &x, &y, &w, &h);
        EXPECT(x >= 0 && y >= 0 && x + w <= 120 && y + h <= 90);
        EXPECT(w * h >= 0.5 * 120 * 90 - (w + h) && (double)w / h > 0.74 && (double)w / h < 1.35);
    }
    EXPECT(rng.next == 80 + 50 * 40);
}

// The whole training transform: a pure function of the draws, a fixed number of them (95)
// whatever the options, floats in [0, 1], erasing zeroing a box when it fires.
TEST(classify_train_transform_is_deterministic_with_fixed_draws) {
    Image src;
    EXPECT_OK(image_alloc(&src, 50, 40));
    for (int i = 0; i < 50 * 40 * 3; i++) src.rgb[i] = (uint8_t)(40 + (i * 37) % 200); // no zeros
    enum { S = 32, N = 3 * S * S };
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    EXPECT(a && b);
    if (!a || !b || !src.rgb) goto done;
    ClassifyAugment p = {.imgsz = S, .scale_min = 0.5f, .fliplr = 0.5f, .randaugment = true, .hsv_h = 0.015f,
                         .hsv_s = 0.7f, .hsv_v = 0.4f, .erasing = 0.0f};
    int zeros_seen = 0;
    for (int sample = 0; sample < 12; sample++) {
        for (int variant = 0; variant < 4; variant++) {
            p.randaugment = variant % 2 == 0;
            p.erasing = variant < 2 ? 0.0f : 1.0f;
            // Variant 1 also turns ColorJitter off (its saturation can clip channels to 0).
            p.hsv_h = p.hsv_s = p.hsv_v = variant == 1 ? 0.0f : 0.5f;
            RngCursor r1 = rng_cursor(9, rng_stream(RNG_TEST, 41, (uint32_t)sample)), r2 = r1;
            EXPECT_OK(classify_train_transform(&src, &p, &r1, a));
            EXPECT_OK(classify_train_transform(&src, &p, &r2, b));
            EXPECT(memcmp(a, b, sizeof(float) * N) == 0);
            EXPECT(r1.next == 95);
            int zeros = 0;
            for (int i = 0; i < N; i++) {
                EXPECT(a[i] >= 0.0f && a[i] <= 1.0f);
                zeros += a[i] == 0.0f;
            }
            // Warps, solarize and colour extrapolation can make pixels 0; the crop, resize and
            // flips of an image without zeros cannot. With erasing every channel of a box is 0.
            if (variant == 1) EXPECT(zeros == 0);
            if (variant == 3) {
                EXPECT(zeros >= 3 * 2);
                zeros_seen += zeros > 0;
            }
        }
    }
    EXPECT(zeros_seen == 12);
done:
    free(a);
    free(b);
    image_free(&src);
}
