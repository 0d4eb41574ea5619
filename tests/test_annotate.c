// Drawing results (src/plot): boxes, labels and masks change the pixels they cover and no others,
// the line width follows Ultralytics' rule, and a batch mosaic is a JPEG of the grid's size.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "plot/annotate.h"
#include "plot/mosaic.h"
#include "scratch.h"
#include "test.h"

static Image grey(int w, int h) {
    Image img = {0};
    if (image_alloc(&img, w, h) == 0) memset(img.rgb, 114, (size_t)w * (size_t)h * 3);
    return img;
}

static const uint8_t *pixel(const Image *img, int x, int y) { return img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3; }

static bool is_grey(const Image *img, int x, int y) {
    const uint8_t *p = pixel(img, x, y);
    return p[0] == 114 && p[1] == 114 && p[2] == 114;
}

TEST(annotate_line_width_follows_the_image_size) {
    EXPECT(plot_line_width(64, 64) == 2);    // 0.19 -> at least 2
    EXPECT(plot_line_width(640, 480) == 2);  // (480 + 640 + 3) / 2 * 0.003 = 1.68
    EXPECT(plot_line_width(1920, 1080) == 5); // 4.50 rounds up
    EXPECT(plot_line_width(1280, 720) == 3); // 3.00
    uint8_t c0[3], c20[3], c1[3];
    plot_class_color(0, c0);
    plot_class_color(20, c20);
    plot_class_color(1, c1);
    EXPECT(c0[0] == 0x04 && c0[1] == 0x2A && c0[2] == 0xFF); // Ultralytics' first colour, 042AFF
    EXPECT(!memcmp(c0, c20, 3) && memcmp(c0, c1, 3) != 0);
}

TEST(annotate_box_changes_the_pixels_under_its_edges_and_label) {
    Image img = grey(200, 160);
    if (!img.rgb) return;
    Annotator *a = annotator_begin(&img, 0, 0);
    EXPECT(a != NULL);
    if (!a) return;
    EXPECT(annotator_line_width(a) == 2);
    uint8_t red[3] = {255, 0, 0};
    annotate_box(a, (float[4]){40, 60, 150, 140}, red, "circle 0.92");
    EXPECT_OK(annotator_end(a));
    EXPECT(img.w == 200 && img.h == 160);
    // The edges: left, right, top and bottom, in the box colour.
    const uint8_t *left = pixel(&img, 40, 100), *bottom = pixel(&img, 95, 140);
    EXPECT(left[0] > 200 && left[1] < 60 && left[2] < 60);
    EXPECT(bottom[0] > 200 && bottom[1] < 60);
    EXPECT(!is_grey(&img, 150, 100));
    // Inside and outside the box, away from the label: untouched.
    EXPECT(is_grey(&img, 95, 100));
    EXPECT(is_grey(&img, 5, 5) && is_grey(&img, 195, 155) && is_grey(&img, 170, 100));
    // The label's tag sits above the top edge, filled with the box colour.
    const uint8_t *tag = pixel(&img, 41, 50);
    EXPECT(tag[0] > 200 && tag[2] < 60);
    image_free(&img);
}

TEST(annotate_label_moves_inside_the_box_at_the_top_of_the_image) {
    Image img = grey(120, 100);
    if (!img.rgb) return;
    Annotator *a = annotator_begin(&img, 2, 0);
    if (!a) return;
    uint8_t blue[3] = {0, 0, 255};
    annotate_box(a, (float[4]){10, 2, 110, 90}, blue, "square");
    EXPECT_OK(annotator_end(a));
    // No room above: the tag is drawn from the top edge downwards, inside the box.
    const uint8_t *tag = pixel(&img, 12, 8);
    EXPECT(tag[2] > 200 && tag[0] < 60);
    EXPECT(is_grey(&img, 60, 60));
    image_free(&img);
}

TEST(annotate_mask_blends_only_inside_the_mask) {
    Image img = grey(40, 40);
    if (!img.rgb) return;
    // A 10x10 mask over the whole image whose left half is set.
    uint8_t mask[100] = {0};
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 5; x++) mask[y * 10 + x] = 1;
    Annotator *a = annotator_begin(&img, 0, 0);
    if (!a) return;
    uint8_t green[3] = {0, 255, 0};
    MaskLayer m = {.w = 10, .h = 10, .data = mask, .scale_x = 0.25f, .scale_y = 0.25f, .x1 = 40, .y1 = 40};
    annotate_mask(a, &m, green, 0.5f);
    EXPECT_OK(annotator_end(a));
    const uint8_t *in = pixel(&img, 5, 20);
    EXPECT(in[0] == 57 && in[1] == 185 && in[2] == 57); // 114 / 2 and (114 + 255) / 2, rounded
    EXPECT(is_grey(&img, 30, 20));
    image_free(&img);
}

TEST(mosaic_writes_a_jpeg_of_the_grid_size_with_its_boxes) {
    char dir[256], path[512];
    if (!scratch_make(dir, sizeof dir, "mosaic")) return;
    enum { N = 3, W = 96, H = 64 };
    float *images = malloc(sizeof(float) * N * 3 * W * H);
    if (!images) return;
    for (int i = 0; i < N * 3 * W * H; i++) images[i] = 0.5f;
    float targets[2][6] = {{0, 1, 0.5f, 0.5f, 0.5f, 0.5f}, {2, 0, 0.25f, 0.25f, 0.3f, 0.3f}};
    int index[N] = {0, 1, 2};
    Batch b = {.size = N, .h = H, .w = W, .images = images, .n_targets = 2, .targets = &targets[0][0], .dataset_index = index};
    MosaicTile tiles[N];
    void *storage = NULL;
    EXPECT_OK(mosaic_tiles_from_targets(&b, 0, tiles, &storage));
    EXPECT(tiles[0].n == 1 && tiles[1].n == 0 && tiles[2].n == 1 && tiles[2].classes[0] == 0);
    EXPECT_NEAR(tiles[0].boxes[0], 24.0, 1e-4); // (0.5 - 0.25) * 96
    char *names[2] = {"circle", "square"};
    char *paths[N] = {"a/0.jpg", "a/1.jpg", "a/2.jpg"};
    snprintf(path, sizeof path, "%s/train_batch0.jpg", dir);
    EXPECT_OK(mosaic_write(path, &b, tiles, names, 2, paths));
    Image back = {0};
    EXPECT_OK(image_read(path, &back));
    // 3 images: a 2 x 2 grid, column by column; the fourth cell stays white. Tiles this small are
    // enlarged to 320 pixels on their long side: 320 x 213.
    int tw = 320, th = 213;
    EXPECT(back.w == 2 * tw && back.h == 2 * th);
    if (back.rgb && back.w == 2 * tw && back.h == 2 * th) {
        const uint8_t *white = pixel(&back, tw + tw / 2, th + th / 2), *edge = pixel(&back, 80, th / 2);
        EXPECT(white[0] > 245 && white[1] > 245 && white[2] > 245);
        // Image 0's box (class 1, 0BDBEB) has its left edge at x = 24 * 320 / 96 = 80.
        EXPECT(edge[0] < 100 && edge[1] > 150 && edge[2] > 150);
    }
    image_free(&back);
    free(storage);
    free(images);
    scratch_remove(dir);
}

TEST(mosaic_shrinks_wide_batches_to_1920_pixels) {
    char dir[256], path[512];
    if (!scratch_make(dir, sizeof dir, "mosaic-wide")) return;
    enum { W = 2000, H = 64 };
    float *images = calloc(3 * W * H, sizeof(float));
    if (!images) return;
    Batch b = {.size = 1, .h = H, .w = W, .images = images};
    snprintf(path, sizeof path, "%s/wide.jpg", dir);
    EXPECT_OK(mosaic_write(path, &b, NULL, NULL, 0, NULL));
    Image back = {0};
    EXPECT_OK(image_read(path, &back));
    // Ultralytics: scale 1920 / 2000, each side rounded up: 1920 x ceil(61.44).
    EXPECT(back.w == 1920 && back.h == 62);
    image_free(&back);
    free(images);
    scratch_remove(dir);
}
