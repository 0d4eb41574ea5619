#include "plot/mosaic.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "plot/annotate.h"

// Ultralytics draws a prediction on a mosaic when its score is above this.
static const float MOSAIC_CONF = 0.25f;

int mosaic_tiles_from_targets(const Batch *b, int mask_ratio, MosaicTile *tiles, void **storage) {
    size_t n = b->n_targets > 0 ? (size_t)b->n_targets : 1;
    // Boxes, then classes, in one allocation: the caller frees one pointer.
    float *boxes = malloc((sizeof(float) * 4 + sizeof(int)) * n);
    *storage = boxes;
    if (!boxes) return yolo_fail("out of memory plotting a batch of %d images", b->size);
    int *cls_out = (int *)(void *)(boxes + 4 * n);
    // One block of rows per image, in the batch's order.
    int at = 0;
    for (int i = 0; i < b->size; i++) {
        int first = at;
        for (int t = 0; t < b->n_targets; t++) {
            const float *r = &b->targets[6 * t];
            if ((int)r[0] != i) continue;
            float *box = &boxes[4 * at];
            box[0] = (r[2] - 0.5f * r[4]) * (float)b->w;
            box[1] = (r[3] - 0.5f * r[5]) * (float)b->h;
            box[2] = (r[2] + 0.5f * r[4]) * (float)b->w;
            box[3] = (r[3] + 0.5f * r[5]) * (float)b->h;
            cls_out[at++] = (int)r[1];
        }
        tiles[i] = (MosaicTile){.n = at - first, .boxes = &boxes[4 * first], .classes = &cls_out[first]};
        if (b->masks && mask_ratio > 0) {
            int mw = b->w / mask_ratio, mh = b->h / mask_ratio;
            tiles[i].mask_w = mw;
            tiles[i].mask_h = mh;
            tiles[i].index_map = b->masks + (size_t)i * (size_t)mw * (size_t)mh;
        }
    }
    return 0;
}

// The batch's images side by side on white, column by column, as 8-bit RGB (Ultralytics scales
// by 255 and truncates).
static int paste_tiles(const Batch *b, int bs, int ns, Image *out) {
    TRY(image_alloc(out, ns * b->w, ns * b->h));
    memset(out->rgb, 255, (size_t)out->w * (size_t)out->h * 3);
    size_t plane = (size_t)b->w * (size_t)b->h;
    for (int i = 0; i < bs; i++) {
        int x0 = b->w * (i / ns), y0 = b->h * (i % ns);
        const float *src = b->images + (size_t)i * 3 * plane;
        for (int y = 0; y < b->h; y++) {
            uint8_t *row = out->rgb + ((size_t)(y0 + y) * (size_t)out->w + (size_t)x0) * 3;
            for (int x = 0; x < b->w; x++)
                for (int c = 0; c < 3; c++) {
                    float v = src[(size_t)c * plane + (size_t)y * (size_t)b->w + (size_t)x] * 255.0f;
                    row[3 * x + c] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
                }
        }
    }
    return 0;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void draw_tile(Annotator *a, const MosaicTile *t, char *const *names, int nc, double x, double y, int w, int h,
                      double scale) {
    // Masks first, boxes over them.
    for (int j = 0; t->mask_w > 0 && (t->masks || t->index_map) && j < t->n; j++) {
        if (t->scores && !(t->scores[j] > MOSAIC_CONF)) continue;
        uint8_t rgb[3];
        plot_class_color(t->classes[j], rgb);
        // One object's mask: its own map, or the index map's pixels equal to j + 1.
        const uint8_t *data = t->masks ? t->masks + (size_t)j * (size_t)t->mask_w * (size_t)t->mask_h : NULL;
        uint8_t *own = NULL;
        if (!data) {
            size_t count = (size_t)t->mask_w * (size_t)t->mask_h;
            own = malloc(count);
            if (!own) continue; // a plot without one mask rather than no plot
            for (size_t p = 0; p < count; p++) own[p] = t->index_map[p] == j + 1;
            data = own;
        }
        MaskLayer m = {.w = t->mask_w, .h = t->mask_h, .data = data, .scale_x = (float)t->mask_w / (float)w,
                       .scale_y = (float)t->mask_h / (float)h, .offset_x = (float)(-x * t->mask_w / w),
                       .offset_y = (float)(-y * t->mask_h / h), .x0 = (int)x, .y0 = (int)y, .x1 = (int)x + w,
                       .y1 = (int)y + h};
        annotate_mask(a, &m, rgb, 0.6f);
        free(own);
    }
    for (int j = 0; j < t->n; j++) {
        if (t->scores && !(t->scores[j] > MOSAIC_CONF)) continue;
        int c = t->classes[j];
        char label[160];
        char number[16];
        snprintf(number, sizeof number, "%d", c);
        const char *name = names && c >= 0 && c < nc ? names[c] : number;
        if (t->scores) snprintf(label, sizeof label, "%s %.1f", name, (double)t->scores[j]);
        else snprintf(label, sizeof label, "%s", name);
        float box[4];
        for (int k = 0; k < 4; k++) box[k] = (float)(t->boxes[k + 4 * j] * scale + (k % 2 ? y : x));
        uint8_t rgb[3];
        plot_class_color(c, rgb);
        annotate_box(a, box, rgb, label);
    }
}

int mosaic_write(const char *path, const Batch *b, const MosaicTile *tiles, char *const *names, int nc,
                 char *const *paths) {
    int bs = b->size < MOSAIC_MAX_TILES ? b->size : MOSAIC_MAX_TILES;
    if (bs < 1) return yolo_fail("%s: an empty batch has nothing to plot", path);
    int ns = (int)ceil(sqrt((double)bs));
    Image grid = {0};
    TRY(paste_tiles(b, bs, ns, &grid));
    int h = b->h, w = b->w, side = h > w ? h : w;
    double scale = (double)MOSAIC_MAX_SIZE / ns / side;
    // Ultralytics only shrinks; small inputs (imgsz 64..320) are also enlarged here so that tiles
    // are MOSAIC_MIN_TILE pixels, or labels in its 18-pixel minimum font would cover them.
    if (scale >= 1.0 && side < MOSAIC_MIN_TILE) scale = fmin(scale, (double)MOSAIC_MIN_TILE / side);
    else if (scale >= 1.0) scale = 1.0;
    if (scale != 1.0) {
        // Ultralytics' ceil when shrinking; enlarging rounds (320 / 96 * 96 is a hair above 320).
        h = scale < 1.0 ? (int)ceil(scale * h) : (int)lround(scale * h);
        w = scale < 1.0 ? (int)ceil(scale * w) : (int)lround(scale * w);
        Image small = {0};
        int rc = image_resize_linear(&grid, w * ns, h * ns, &small);
        image_free(&grid);
        TRY(rc);
        grid = small;
    }
    // Ultralytics: font size 1% of the grid's sides, at least 18 pixels; lines a tenth of it.
    int fs = (int)((h + w) * ns * 0.01);
    fs = fs < 18 ? 18 : fs;
    int lw = (int)nearbyint(fs / 10.0);
    Annotator *a = annotator_begin(&grid, lw < 1 ? 1 : lw, fs);
    if (!a) {
        image_free(&grid);
        return -1;
    }
    static const uint8_t WHITE[3] = {255, 255, 255}, GREY[3] = {220, 220, 220};
    for (int i = 0; i < bs; i++) {
        double x = (double)w * (i / ns), y = (double)h * (i % ns);
        annotate_rect(a, x, y, w, h, WHITE, 2.0);
        if (paths && paths[i]) {
            char name[41];
            snprintf(name, sizeof name, "%s", base_name(paths[i]));
            const char *line = name;
            annotate_text(a, x + 5, y + 5, &line, 1, GREY, false);
        }
        if (tiles) draw_tile(a, &tiles[i], names, nc, x, y, w, h, scale);
    }
    int rc = annotator_end(a);
    if (rc == 0) rc = image_write_jpeg(path, &grid, 75); // PIL's default quality, which Ultralytics saves with
    image_free(&grid);
    return rc;
}
