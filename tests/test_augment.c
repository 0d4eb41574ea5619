// Augmentation (src/data/augment*.c, letterbox.c, masks.c): each stage against hand-computed
// placements, matrices and masks, and the whole chain's determinism.
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/augment.h"
#include "test.h"

static void fill_image(Image *img, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    EXPECT_OK(image_alloc(img, w, h));
    for (int i = 0; i < w * h; i++) img->rgb[3 * i] = r, img->rgb[3 * i + 1] = g, img->rgb[3 * i + 2] = b;
}

static const uint8_t *pixel(const Image *img, int x, int y) {
    return img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
}

static bool pixel_is(const Image *img, int x, int y, int r, int g, int b) {
    const uint8_t *p = pixel(img, x, y);
    return p[0] == r && p[1] == g && p[2] == b;
}

// Appends one object; `xy` (n_points pairs) may be NULL for a box-only list.
static void add_object(Instances *in, int cls, float x1, float y1, float x2, float y2, const float *xy, int n_points) {
    int points = in->poly ? in->poly[in->n] : 0;
    EXPECT_OK(instances_reserve(in, in->n + 1, points + n_points, xy != NULL));
    in->cls[in->n] = cls;
    float box[4] = {x1, y1, x2, y2};
    memcpy(in->boxes + 4 * in->n, box, sizeof box);
    if (xy) {
        memcpy(in->points + 2 * points, xy, sizeof(float) * 2 * (size_t)n_points);
        in->poly[in->n + 1] = points + n_points;
    }
    in->n++;
}

static bool box_is(const Instances *in, int i, float x1, float y1, float x2, float y2) {
    const float *b = in->boxes + 4 * i;
    return fabsf(b[0] - x1) < 1e-4f && fabsf(b[1] - y1) < 1e-4f && fabsf(b[2] - x2) < 1e-4f && fabsf(b[3] - y2) < 1e-4f;
}

static AugmentParams no_augment(void) { return (AugmentParams){.imgsz = 64}; }

TEST(augment_mosaic_places_parts_around_centre) {
    // imgsz 8: a 16x16 canvas, centre (10, 7).
    Sample parts[4] = {0};
    fill_image(&parts[0].img, 8, 6, 255, 0, 0);
    fill_image(&parts[1].img, 8, 8, 0, 255, 0);
    memset(parts[1].img.rgb, 0, 8 * 3); // row 0 of part 1 is cropped away
    fill_image(&parts[2].img, 5, 4, 0, 0, 255);
    fill_image(&parts[3].img, 8, 8, 200, 200, 200);
    add_object(&parts[0].inst, 3, 1, 1, 3, 3, NULL, 0);
    add_object(&parts[1].inst, 4, 0, 0, 8, 1, NULL, 0); // lands above the canvas: dropped
    add_object(&parts[3].inst, 5, 4, 4, 8, 8, NULL, 0);
    Sample out;
    EXPECT_OK(augment_mosaic4_at(parts, 8, 10, 7, &out));
    EXPECT(out.img.w == 16 && out.img.h == 16);
    // Part 0 ends at the centre: x 2..9, y 1..6.
    EXPECT(pixel_is(&out.img, 2, 1, 255, 0, 0) && pixel_is(&out.img, 9, 6, 255, 0, 0));
    EXPECT(pixel_is(&out.img, 1, 1, 114, 114, 114) && pixel_is(&out.img, 9, 0, 114, 114, 114));
    // Part 1 starts at xc, its top row cut off by the canvas edge.
    EXPECT(pixel_is(&out.img, 10, 0, 0, 255, 0) && pixel_is(&out.img, 15, 6, 0, 255, 0));
    // Part 2 ends at xc, starts at yc: x 5..9, y 7..10.
    EXPECT(pixel_is(&out.img, 5, 7, 0, 0, 255) && pixel_is(&out.img, 9, 10, 0, 0, 255));
    EXPECT(pixel_is(&out.img, 4, 8, 114, 114, 114) && pixel_is(&out.img, 5, 11, 114, 114, 114));
    // Part 3 from the centre to the canvas edge (x) and to yc + 8 (y).
    EXPECT(pixel_is(&out.img, 10, 7, 200, 200, 200) && pixel_is(&out.img, 15, 14, 200, 200, 200));
    EXPECT(pixel_is(&out.img, 15, 15, 114, 114, 114));

    EXPECT(out.inst.n == 2 && out.inst.poly == NULL);
    EXPECT(out.inst.cls[0] == 3 && box_is(&out.inst, 0, 3, 2, 5, 4));
    EXPECT(out.inst.cls[1] == 5 && box_is(&out.inst, 1, 14, 11, 16, 15)); // x2 clipped to 16
    sample_free(&out);
    for (int i = 0; i < 4; i++) sample_free(&parts[i]);
}

TEST(augment_mosaic_moves_polygons_and_rejects_mixed_labels) {
    Sample parts[4] = {0};
    for (int i = 0; i < 4; i++) fill_image(&parts[i].img, 8, 8, 10, 20, 30);
    const float tri[] = {1, 1, 6, 1, 6, 6};
    add_object(&parts[3].inst, 1, 1, 1, 6, 6, tri, 3);
    Sample out;
    EXPECT_OK(augment_mosaic4_at(parts, 8, 12, 12, &out)); // part 3 at (12, 12): clipped at 16
    EXPECT(out.inst.n == 1 && out.inst.poly && out.inst.poly[1] == 3);
    EXPECT(box_is(&out.inst, 0, 13, 13, 16, 16));
    EXPECT(out.inst.points[0] == 13 && out.inst.points[2] == 16 && out.inst.points[5] == 16);
    sample_free(&out);
    add_object(&parts[0].inst, 2, 1, 1, 3, 3, NULL, 0);
    EXPECT_FAILS_WITH(augment_mosaic4_at(parts, 8, 12, 12, &out), "polygon labels");
    EXPECT_FAILS_WITH(augment_mosaic4_at(parts, 8, 17, 12, &out), "outside");
    for (int i = 0; i < 4; i++) sample_free(&parts[i]);
}

TEST(augment_perspective_identity_keeps_image_and_boxes) {
    Sample s = {0};
    fill_image(&s.img, 12, 10, 0, 0, 0);
    for (int i = 0; i < 12 * 10 * 3; i++) s.img.rgb[i] = (uint8_t)(i * 7);
    add_object(&s.inst, 1, 1.5f, 2, 9, 8.25f, NULL, 0);
    Image before = s.img;
    uint8_t copy[12 * 10 * 3];
    memcpy(copy, s.img.rgb, sizeof copy);
    AugmentParams p = no_augment();
    RngCursor rng = rng_cursor(1, rng_stream(RNG_TEST, 1, 0));
    EXPECT_OK(augment_random_perspective(&s, &p, 0, &rng));
    EXPECT(rng.next == 8);
    EXPECT(s.img.rgb == before.rgb && s.img.w == 12 && s.img.h == 10); // not resampled
    EXPECT(memcmp(s.img.rgb, copy, sizeof copy) == 0);
    EXPECT(s.inst.n == 1 && box_is(&s.inst, 0, 1.5f, 2, 9, 8.25f));
    // The same matrix through the resampler is an exact copy too.
    const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    Image warped;
    EXPECT_OK(augment_warp_image(&s.img, identity, 12, 10, &warped));
    EXPECT(memcmp(warped.rgb, copy, sizeof copy) == 0);
    image_free(&warped);
    sample_free(&s);
}

TEST(augment_perspective_matrix_composes_draws) {
    // With everything but translation and scale off: M = [[s, 0, tx - s w/2], [0, s, ty - s h/2]].
    AugmentParams p = {.imgsz = 64, .translate = 0.1f, .scale = 0.5f};
    RngCursor rng = rng_cursor(5, rng_stream(RNG_TEST, 2, 0)), copy = rng;
    double m[9], scale;
    augment_perspective_matrix(&p, 100, 80, 50, 40, &rng, m, &scale);
    double u[8];
    for (int i = 0; i < 8; i++) u[i] = rng_next_uniform(&copy);
    double t = p.translate, s = 0.5 + u[3], tx = (0.5 - t + 2 * t * u[6]) * 50, ty = (0.5 - t + 2 * t * u[7]) * 40;
    EXPECT_NEAR(scale, s, 1e-12);
    EXPECT_NEAR(m[0], s, 1e-12);
    EXPECT_NEAR(m[1], 0, 1e-12);
    EXPECT_NEAR(m[2], tx - s * 50, 1e-9);
    EXPECT_NEAR(m[4], s, 1e-12);
    EXPECT_NEAR(m[5], ty - s * 40, 1e-9);
    EXPECT(m[6] == 0 && m[7] == 0 && m[8] == 1);
    // Rotation by the drawn angle a: [[cos a, sin a], [-sin a, cos a]], as cv2.getRotationMatrix2D.
    AugmentParams r = {.imgsz = 64, .degrees = 90};
    RngCursor any = rng_cursor(5, rng_stream(RNG_TEST, 2, 1));
    augment_perspective_matrix(&r, 10, 10, 10, 10, &any, m, &scale);
    double a = 90.0 * (2.0 * rng_uniform(5, rng_stream(RNG_TEST, 2, 1), 2) - 1.0) * M_PI / 180.0;
    EXPECT_NEAR(m[0], cos(a), 1e-12);
    EXPECT_NEAR(m[1], sin(a), 1e-12);
    EXPECT_NEAR(m[3], -sin(a), 1e-12);
}

TEST(augment_warp_rotation_by_90_degrees) {
    // M (x, y) = (y, 19 - x): a quarter turn of the 20x20 pixel grid, so sampling is exact.
    const double m[9] = {0, 1, 0, -1, 0, 19, 0, 0, 1};
    Image src, dst;
    fill_image(&src, 20, 20, 0, 0, 0);
    for (int i = 0; i < 20 * 20 * 3; i++) src.rgb[i] = (uint8_t)(i * 13 + 5);
    EXPECT_OK(augment_warp_image(&src, m, 20, 20, &dst));
    int bad = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++) bad += memcmp(pixel(&dst, x, y), pixel(&src, 19 - y, x), 3) != 0;
    EXPECT(bad == 0);
    image_free(&dst);
    image_free(&src);

    Instances in = {0};
    add_object(&in, 7, 2, 4, 8, 14, NULL, 0);
    EXPECT_OK(augment_warp_instances(&in, m, 1.0, 20, 20));
    EXPECT(in.n == 1 && in.cls[0] == 7 && box_is(&in, 0, 4, 11, 14, 17));
    instances_free(&in);
}

TEST(augment_warp_samples_bilinearly_with_a_grey_border) {
    // Half a pixel to the right: each output is the mean of two inputs, rounded half up; the
    // first column mixes the 114 border in.
    const double m[9] = {1, 0, 0.5, 0, 1, 0, 0, 0, 1};
    Image src, dst;
    fill_image(&src, 3, 2, 100, 100, 100);
    for (int y = 0; y < 2; y++) memset(src.rgb + (size_t)y * 9 + 3, 201, 3);
    EXPECT_OK(augment_warp_image(&src, m, 4, 2, &dst));
    EXPECT(pixel_is(&dst, 0, 0, 107, 107, 107)); // (114 + 100) / 2
    EXPECT(pixel_is(&dst, 1, 1, 151, 151, 151)); // (100 + 201) / 2 = 150.5
    EXPECT(pixel_is(&dst, 2, 0, 151, 151, 151));
    EXPECT(pixel_is(&dst, 3, 0, 107, 107, 107)); // (100 + 114) / 2 past the right edge
    image_free(&dst);
    // Entirely outside, or squashed to a line by a singular matrix: all 114.
    const double away[9] = {1, 0, 50, 0, 1, 0, 0, 0, 1}, flat[9] = {1, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int k = 0; k < 2; k++) {
        EXPECT_OK(augment_warp_image(&src, k ? flat : away, 4, 2, &dst));
        EXPECT(pixel_is(&dst, 0, 0, 114, 114, 114) && pixel_is(&dst, 3, 1, 114, 114, 114));
        image_free(&dst);
    }
    image_free(&src);
}

// The three resampling paths (scale and shift only, any affine, projective) differ only in how
// they compute source coordinates; scaling a matrix by 2 leaves the map alone but sends it down
// the projective path.
TEST(augment_warp_paths_agree) {
    Image src;
    fill_image(&src, 30, 20, 0, 0, 0);
    for (int i = 0; i < 30 * 20 * 3; i++) src.rgb[i] = (uint8_t)((i * 2654435761u) >> 24);
    const double cs = 1.3 * cos(0.3), sn = 1.3 * sin(0.3);
    const double mats[2][9] = {{0.7, 0, 3.3, 0, 1.3, -2.1, 0, 0, 1}, {cs, sn, -4.5, -sn, cs, 9.25, 0, 0, 1}};
    for (int k = 0; k < 2; k++) {
        double twice[9];
        for (int j = 0; j < 9; j++) twice[j] = 2 * mats[k][j];
        Image a, b;
        EXPECT_OK(augment_warp_image(&src, mats[k], 25, 25, &a));
        EXPECT_OK(augment_warp_image(&src, twice, 25, 25, &b));
        int worst = 0, differ = 0;
        for (int i = 0; i < 25 * 25 * 3; i++) {
            int d = abs(a.rgb[i] - b.rgb[i]);
            worst = d > worst ? d : worst;
            differ += d != 0;
        }
        EXPECT(worst <= 1);
        EXPECT(differ < 25 * 25 * 3 / 50);
        image_free(&a);
        image_free(&b);
    }
    image_free(&src);
}

TEST(augment_box_candidates) {
    const float old[4] = {0, 0, 10, 10};
    EXPECT(augment_box_candidate(old, (float[]){1, 1, 9, 9}, 0.1f));
    EXPECT(!augment_box_candidate(old, (float[]){0, 0, 2, 9}, 0.1f));   // w = 2
    EXPECT(!augment_box_candidate(old, (float[]){0, 0, 9, 2}, 0.1f));   // h = 2
    EXPECT(!augment_box_candidate(old, (float[]){0, 0, 3, 3}, 0.1f));   // area ratio 0.09
    EXPECT(augment_box_candidate(old, (float[]){0, 0, 3, 3}, 0.01f));   // fine with polygons
    const float wide[4] = {0, 0, 300, 3};
    EXPECT(!augment_box_candidate(wide, (float[]){0, 0, 300, 2.5f}, 0.1f)); // aspect 120
    EXPECT(augment_box_candidate(wide, (float[]){0, 0, 250, 2.6f}, 0.1f));  // aspect 96
    // Through the warp: a box shrunk by M is compared with the old box times `scale`.
    const double half[9] = {0.5, 0, 0, 0, 0.5, 0, 0, 0, 1};
    Instances in = {0};
    add_object(&in, 0, 0, 0, 40, 40, NULL, 0);
    add_object(&in, 1, 0, 0, 4, 40, NULL, 0); // 2 px wide after the warp
    EXPECT_OK(augment_warp_instances(&in, half, 0.5, 100, 100));
    EXPECT(in.n == 1 && in.cls[0] == 0 && box_is(&in, 0, 0, 0, 20, 20));
    EXPECT_OK(augment_warp_instances(&in, half, 5.0, 100, 100)); // 10x10 against 100x100: too small
    EXPECT(in.n == 0);
    instances_free(&in);
}

TEST(augment_segment_boxes_from_points) {
    const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    Instances in = {0};
    // Crosses only the left side: the box comes from the points inside, the rest are pulled in.
    const float left[] = {-4, 1, 0, 1, 6, 1, 6, 9, 0, 9, -4, 9};
    add_object(&in, 0, -4, 1, 6, 9, left, 6);
    // Crosses all four sides: clipped first, so the box is the whole image.
    const float big[] = {-5, -5, 15, -5, 15, 15, -5, 15};
    add_object(&in, 1, -5, -5, 15, 15, big, 4);
    EXPECT_OK(augment_warp_instances(&in, identity, 1.0, 10, 10));
    EXPECT(in.n == 2);
    EXPECT(box_is(&in, 0, 0, 1, 6, 9) && box_is(&in, 1, 0, 0, 10, 10));
    EXPECT(in.points[0] == 0 && in.points[1] == 1); // (-4, 1) pulled onto the box
    EXPECT(in.points[2 * 6] == 0 && in.points[2 * 6 + 1] == 0 && in.points[2 * 8] == 10);
    instances_free(&in);
}

TEST(augment_hsv_conversions_follow_opencv) {
    const uint8_t cases[][6] = {
        {255, 0, 0, 0, 255, 255},   {0, 255, 0, 60, 255, 255},   {0, 0, 255, 120, 255, 255},
        {255, 255, 0, 30, 255, 255}, {128, 128, 128, 0, 0, 128}, {0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t hsv[3], rgb[3];
        rgb_to_hsv_u8(cases[i], hsv);
        EXPECT(hsv[0] == cases[i][3] && hsv[1] == cases[i][4] && hsv[2] == cases[i][5]);
        hsv_to_rgb_u8(hsv, rgb);
        EXPECT(memcmp(rgb, cases[i], 3) == 0);
    }
    // A negative hue difference wraps: (g - b) / diff = -128/255 of 30 units is -15, so 165.
    uint8_t hsv[3];
    rgb_to_hsv_u8((const uint8_t[]){255, 0, 128}, hsv);
    EXPECT(hsv[0] == 165 && hsv[1] == 255 && hsv[2] == 255);
    // The round trip loses what 2-degree hue steps and rounded 12-bit reciprocals cost: over
    // the whole cube at most 5 levels (e.g. (0, 5, 246) comes back as (0, 0, 246)) and 1-2 for
    // 93% of colours; greys come back exactly.
    int worst = 0, grey_worst = 0, within2 = 0, total = 0;
    for (int r = 0; r < 256; r += 3)
        for (int g = 0; g < 256; g += 5)
            for (int b = 0; b < 256; b += 7) {
                uint8_t rgb[3] = {(uint8_t)r, (uint8_t)g, (uint8_t)b}, hsv[3], back[3];
                rgb_to_hsv_u8(rgb, hsv);
                hsv_to_rgb_u8(hsv, back);
                int d = 0;
                for (int c = 0; c < 3; c++) d = abs(back[c] - rgb[c]) > d ? abs(back[c] - rgb[c]) : d;
                worst = d > worst ? d : worst;
                within2 += d <= 2;
                total++;
            }
    for (int v = 0; v < 256; v++) {
        uint8_t rgb[3] = {(uint8_t)v, (uint8_t)v, (uint8_t)v}, hsv[3], back[3];
        rgb_to_hsv_u8(rgb, hsv);
        hsv_to_rgb_u8(hsv, back);
        grey_worst |= memcmp(back, rgb, 3) != 0;
    }
    EXPECT(worst <= 5);
    EXPECT(within2 > total * 9 / 10);
    EXPECT(grey_worst == 0);
}

TEST(augment_hsv_gains) {
    Image img;
    fill_image(&img, 4, 3, 30, 60, 90);
    uint8_t copy[4 * 3 * 3];
    memcpy(copy, img.rgb, sizeof copy);
    AugmentParams p = no_augment();
    RngCursor rng = rng_cursor(9, rng_stream(RNG_TEST, 3, 0));
    augment_hsv(&img, &p, &rng);
    EXPECT(rng.next == 3);
    EXPECT(memcmp(img.rgb, copy, sizeof copy) == 0);
    // A grey keeps S = 0, so only the value table acts: V' = trunc(V (1 + r2)).
    p.hsv_h = 0.015f, p.hsv_s = 0.7f, p.hsv_v = 0.4f;
    memset(img.rgb, 100, sizeof copy);
    RngCursor c = rng_cursor(9, rng_stream(RNG_TEST, 3, 1)), peek = c;
    double r2 = (2.0 * rng_uniform(peek.seed, peek.stream, 2) - 1.0) * 0.4f;
    augment_hsv(&img, &p, &c);
    int expected = (int)(100 * (1.0 + r2));
    EXPECT(pixel_is(&img, 3, 2, expected, expected, expected));
    image_free(&img);
}

TEST(augment_flip_is_an_involution) {
    Sample s = {0};
    fill_image(&s.img, 5, 4, 0, 0, 0);
    for (int i = 0; i < 5 * 4 * 3; i++) s.img.rgb[i] = (uint8_t)(i * 11);
    const float tri[] = {1, 1, 3, 1, 3, 2};
    add_object(&s.inst, 0, 1, 1, 3, 2, tri, 3);
    uint8_t before[5 * 4 * 3], corner[3];
    memcpy(before, s.img.rgb, sizeof before);
    memcpy(corner, pixel(&s.img, 0, 0), 3);
    AugmentParams p = {.imgsz = 8, .fliplr = 1, .flipud = 1};
    RngCursor rng = rng_cursor(2, rng_stream(RNG_TEST, 4, 0));
    augment_flip(&s, &p, &rng);
    EXPECT(rng.next == 2);
    EXPECT(memcmp(pixel(&s.img, 4, 3), corner, 3) == 0);
    EXPECT(box_is(&s.inst, 0, 2, 2, 4, 3));
    EXPECT(s.inst.points[0] == 4 && s.inst.points[1] == 3);
    augment_flip(&s, &p, &rng);
    EXPECT(memcmp(s.img.rgb, before, sizeof before) == 0);
    EXPECT(box_is(&s.inst, 0, 1, 1, 3, 2) && memcmp(s.inst.points, tri, sizeof tri) == 0);
    // Probability 0 never flips.
    p.fliplr = p.flipud = 0;
    augment_flip(&s, &p, &rng);
    EXPECT(memcmp(s.img.rgb, before, sizeof before) == 0);
    sample_free(&s);
}

TEST(augment_letterbox_scale_and_padding) {
    Sample in = {0}, out;
    fill_image(&in.img, 100, 50, 10, 20, 30);
    const float quad[] = {10, 10, 50, 10, 50, 40};
    add_object(&in.inst, 2, 10, 10, 50, 40, quad, 3);
    float rp[4];
    EXPECT_OK(letterbox(&in, 64, 64, true, &out, rp));
    // r = 0.64: 64x32 inside, 16 rows of padding above and below.
    EXPECT(out.img.w == 64 && out.img.h == 64);
    EXPECT_NEAR(rp[0], 0.64, 1e-6);
    EXPECT_NEAR(rp[1], 0.64, 1e-6);
    EXPECT(rp[2] == 0 && rp[3] == 16);
    EXPECT(pixel_is(&out.img, 0, 15, 114, 114, 114) && pixel_is(&out.img, 63, 48, 114, 114, 114));
    EXPECT(pixel_is(&out.img, 0, 16, 10, 20, 30) && pixel_is(&out.img, 63, 47, 10, 20, 30));
    EXPECT(box_is(&out.inst, 0, 6.4f, 22.4f, 32, 41.6f) && out.inst.cls[0] == 2);
    EXPECT_NEAR(out.inst.points[5], 41.6, 1e-4);
    sample_free(&out);
    sample_free(&in);

    // Odd padding goes to the bottom: 100x51 -> 64x33, 15 rows above, 16 below.
    fill_image(&in.img, 100, 51, 1, 2, 3);
    EXPECT_OK(letterbox(&in, 64, 64, true, &out, rp));
    EXPECT(rp[3] == 15 && pixel_is(&out.img, 5, 14, 114, 114, 114) && pixel_is(&out.img, 5, 47, 1, 2, 3));
    EXPECT(pixel_is(&out.img, 5, 48, 114, 114, 114));
    sample_free(&out);
    sample_free(&in);

    // Without scaleup a small image stays 1:1, centred.
    fill_image(&in.img, 20, 10, 1, 2, 3);
    EXPECT_OK(letterbox(&in, 64, 64, false, &out, rp));
    EXPECT(rp[0] == 1 && rp[2] == 22 && rp[3] == 27 && pixel_is(&out.img, 22, 27, 1, 2, 3));
    EXPECT(pixel_is(&out.img, 21, 27, 114, 114, 114) && pixel_is(&out.img, 42, 36, 114, 114, 114));
    sample_free(&out);
    sample_free(&in);
}

TEST(augment_overlap_masks_paint_small_on_top) {
    Sample s = {0};
    fill_image(&s.img, 32, 32, 0, 0, 0);
    const float small[] = {8, 8, 16, 8, 16, 16, 8, 16};
    const float large[] = {4, 4, 28, 4, 28, 28, 4, 28};
    const float dot[] = {5, 5, 6, 5, 6, 6, 5, 6};   // one pixel: 1 of a block's 4 taps, not enough
    const float line[] = {5, 4, 6, 4, 6, 12, 5, 12}; // one column: 2 of 4 taps, enough
    add_object(&s.inst, 10, 8, 8, 16, 16, small, 4);
    add_object(&s.inst, 11, 5, 5, 6, 6, dot, 4);
    add_object(&s.inst, 12, 4, 4, 28, 28, large, 4);
    add_object(&s.inst, 13, 5, 4, 6, 12, line, 4);
    uint8_t map[8 * 8];
    EXPECT_OK(rasterize_overlap_masks(&s, 4, map));
    // Sorted by reduced area: large (36), small (4), line (2), dot (0).
    EXPECT(s.inst.n == 4);
    EXPECT(s.inst.cls[0] == 12 && s.inst.cls[1] == 10 && s.inst.cls[2] == 13 && s.inst.cls[3] == 11);
    EXPECT(box_is(&s.inst, 0, 4, 4, 28, 28) && s.inst.poly[1] == 4 && s.inst.points[0] == 4);
    int bad = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            // Reduced pixel i reads full-resolution pixels 4i + 1 and 4i + 2.
            int want = 0;
            if (x >= 1 && x <= 6 && y >= 1 && y <= 6) want = 1;
            if (x >= 2 && x <= 3 && y >= 2 && y <= 3) want = 2;
            if (x == 1 && y >= 1 && y <= 2) want = 3;
            bad += map[y * 8 + x] != want;
        }
    EXPECT(bad == 0);
    sample_free(&s);

    // Boxes only: an empty map and nothing reordered.
    fill_image(&s.img, 32, 32, 0, 0, 0);
    add_object(&s.inst, 1, 0, 0, 4, 4, NULL, 0);
    memset(map, 7, sizeof map);
    EXPECT_OK(rasterize_overlap_masks(&s, 4, map));
    EXPECT(map[0] == 0 && map[63] == 0 && s.inst.n == 1);
    sample_free(&s);
}

TEST(augment_instances_from_labels) {
    int cls[] = {4};
    float boxes[] = {0.5f, 0.25f, 0.5f, 0.5f};
    int poly[] = {0, 3};
    float points[] = {0.25f, 0, 0.75f, 0, 0.75f, 0.5f};
    Labels l = {.n = 1, .cls = cls, .boxes = boxes, .poly = poly, .points = points};
    Instances in;
    EXPECT_OK(instances_from_labels(&l, 200, 100, &in));
    EXPECT(in.n == 1 && in.cls[0] == 4 && box_is(&in, 0, 50, 0, 150, 50));
    EXPECT(in.poly[1] == 3 && in.points[0] == 50 && in.points[2] == 150 && in.points[5] == 50);
    instances_free(&in);
}

// Mosaic, perspective, HSV and flips of four synthetic images from one cursor.
static void run_chain(uint64_t stream, Sample *out) {
    Sample parts[4] = {0};
    for (int i = 0; i < 4; i++) {
        fill_image(&parts[i].img, 64 - 8 * i, 48 + 4 * i, 0, 0, 0);
        for (int k = 0; k < parts[i].img.w * parts[i].img.h * 3; k++) parts[i].img.rgb[k] = (uint8_t)(k * (i + 3));
        add_object(&parts[i].inst, i, 4, 6, 30, 40, NULL, 0);
    }
    AugmentParams p = {.imgsz = 64, .hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .degrees = 10,
                       .translate = 0.1f, .scale = 0.5f, .shear = 2, .fliplr = 0.5f};
    RngCursor rng = rng_cursor(1234, stream);
    EXPECT_OK(augment_mosaic4(parts, 64, &rng, out));
    EXPECT_OK(augment_random_perspective(out, &p, -32, &rng));
    augment_hsv(&out->img, &p, &rng);
    augment_flip(out, &p, &rng);
    EXPECT(rng.next == 2 + 8 + 3 + 2);
    for (int i = 0; i < 4; i++) sample_free(&parts[i]);
}

TEST(augment_chain_is_a_function_of_the_cursor) {
    Sample a, b, c;
    run_chain(rng_stream(RNG_AUGMENT, 0, 7), &a);
    run_chain(rng_stream(RNG_AUGMENT, 0, 7), &b);
    run_chain(rng_stream(RNG_AUGMENT, 0, 8), &c);
    EXPECT(a.img.w == 64 && a.img.h == 64 && b.img.w == 64 && c.img.w == 64);
    EXPECT(memcmp(a.img.rgb, b.img.rgb, 64 * 64 * 3) == 0);
    EXPECT(a.inst.n == b.inst.n && memcmp(a.inst.boxes, b.inst.boxes, sizeof(float) * 4 * (size_t)a.inst.n) == 0);
    EXPECT(memcmp(a.img.rgb, c.img.rgb, 64 * 64 * 3) != 0);
    sample_free(&a);
    sample_free(&b);
    sample_free(&c);
}
