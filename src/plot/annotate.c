#include "plot/annotate.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

// Ultralytics' palette (ultralytics/utils/plotting.py, Colors), as RGB.
static const uint8_t PALETTE[20][3] = {
    {0x04, 0x2A, 0xFF}, {0x0B, 0xDB, 0xEB}, {0xF3, 0xF3, 0xF3}, {0x00, 0xDF, 0xB7}, {0x11, 0x1F, 0x68},
    {0xFF, 0x6F, 0xDD}, {0xFF, 0x44, 0x4F}, {0xCC, 0xED, 0x00}, {0x00, 0xF3, 0x44}, {0xBD, 0x00, 0xFF},
    {0x00, 0xB4, 0xFF}, {0xDD, 0x00, 0xBA}, {0x00, 0xFF, 0xFF}, {0x26, 0xC0, 0x00}, {0x01, 0xFF, 0xB3},
    {0x7D, 0x24, 0xFF}, {0x7B, 0x00, 0x68}, {0xFF, 0x1B, 0x6C}, {0xFC, 0x6D, 0x2F}, {0xA2, 0xFF, 0x0B},
};

void plot_class_color(int cls, uint8_t rgb[3]) {
    int i = ((cls % 20) + 20) % 20;
    memcpy(rgb, PALETTE[i], 3);
}

int plot_line_width(int w, int h) {
    // Ultralytics: max(round(sum(im.shape) / 2 * 0.003), 2) with im.shape = (h, w, 3); Python's
    // round is half to even, as nearbyint.
    int lw = (int)nearbyint((double)(h + w + 3) / 2.0 * 0.003);
    return lw < 2 ? 2 : lw;
}

// cairo and fontconfig keep caches for the life of the process; releasing them at exit keeps the
// leak checker's report to our own memory. Registered on first use, so it runs before the leak
// check (atexit handlers run in reverse order of registration).
static void release_font_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static void register_release(void) { atexit(release_font_caches); }

struct Annotator {
    Image *img;
    cairo_surface_t *surface;
    cairo_t *cr;
    int lw;
    double font_px;
};

int annotator_line_width(const Annotator *a) { return a->lw; }

// Image RGB bytes <-> cairo's RGB24 (a native-endian 32-bit word 0x00RRGGBB per pixel).
static void copy_in(const Image *img, cairo_surface_t *s) {
    unsigned char *base = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < img->h; y++) {
        uint32_t *row = (uint32_t *)(void *)(base + (size_t)y * (size_t)stride);
        const uint8_t *src = img->rgb + (size_t)y * (size_t)img->w * 3;
        for (int x = 0; x < img->w; x++)
            row[x] = (uint32_t)src[3 * x] << 16 | (uint32_t)src[3 * x + 1] << 8 | (uint32_t)src[3 * x + 2];
    }
    cairo_surface_mark_dirty(s);
}

static void copy_out(cairo_surface_t *s, Image *img) {
    cairo_surface_flush(s);
    const unsigned char *base = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < img->h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(base + (size_t)y * (size_t)stride);
        uint8_t *dst = img->rgb + (size_t)y * (size_t)img->w * 3;
        for (int x = 0; x < img->w; x++) {
            dst[3 * x] = (uint8_t)(row[x] >> 16);
            dst[3 * x + 1] = (uint8_t)(row[x] >> 8);
            dst[3 * x + 2] = (uint8_t)row[x];
        }
    }
}

Annotator *annotator_begin(Image *img, int line_width, double font_px) {
    pthread_once(&register_once, register_release);
    Annotator *a = calloc(1, sizeof *a);
    if (!a) {
        yolo_fail("out of memory annotating a %dx%d image", img->w, img->h);
        return NULL;
    }
    a->img = img;
    a->lw = line_width > 0 ? line_width : plot_line_width(img->w, img->h);
    // OpenCV's text at scale lw / 3 is about 7.4 lw pixels tall (caps and digits); DejaVu Sans at
    // 8 lw pixels to the em comes close.
    a->font_px = font_px > 0 ? font_px : 8.0 * a->lw;
    a->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->w, img->h);
    if (cairo_surface_status(a->surface) != CAIRO_STATUS_SUCCESS) {
        yolo_fail("cannot draw on a %dx%d image: %s", img->w, img->h, cairo_status_to_string(cairo_surface_status(a->surface)));
        cairo_surface_destroy(a->surface);
        free(a);
        return NULL;
    }
    copy_in(img, a->surface);
    a->cr = cairo_create(a->surface);
    cairo_select_font_face(a->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(a->cr, a->font_px);
    return a;
}

int annotator_end(Annotator *a) {
    cairo_status_t st = cairo_status(a->cr);
    if (st == CAIRO_STATUS_SUCCESS) copy_out(a->surface, a->img);
    cairo_destroy(a->cr);
    cairo_surface_destroy(a->surface);
    int w = a->img->w, h = a->img->h;
    free(a);
    if (st != CAIRO_STATUS_SUCCESS) return yolo_fail("drawing on a %dx%d image failed: %s", w, h, cairo_status_to_string(st));
    return 0;
}

static void set_color(cairo_t *cr, const uint8_t rgb[3], double alpha) {
    cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha);
}

// Dark text on light tags, white on the rest (Ultralytics picks by hand from its palette; the
// luma of the tag colour decides the same pairs).
static void text_color_for(const uint8_t bg[3], uint8_t out[3]) {
    double luma = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2];
    if (luma > 150.0) out[0] = 17, out[1] = 31, out[2] = 104;
    else out[0] = out[1] = out[2] = 255;
}

void annotate_box(Annotator *a, const float box[4], const uint8_t rgb[3], const char *label) {
    cairo_t *cr = a->cr;
    // OpenCV draws from the integer corners, the line centred on them.
    double x1 = floor(box[0]), y1 = floor(box[1]), x2 = floor(box[2]), y2 = floor(box[3]);
    double half = (a->lw % 2) ? 0.5 : 0.0; // odd widths: centre on pixel centres for crisp edges
    set_color(cr, rgb, 1.0);
    cairo_set_line_width(cr, a->lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_rectangle(cr, x1 + half, y1 + half, x2 - x1, y2 - y1);
    cairo_stroke(cr);
    if (!label || !label[0]) return;
    cairo_font_extents_t fe;
    cairo_text_extents_t te;
    cairo_font_extents(cr, &fe);
    cairo_text_extents(cr, label, &te);
    double tw = ceil(te.x_advance) + 2.0, th = ceil(fe.ascent + fe.descent);
    double tx = x1, ty;
    bool outside = y1 >= th; // room above the box
    if (tx > a->img->w - tw) tx = a->img->w - tw;
    if (tx < 0) tx = 0;
    ty = outside ? y1 - th : y1;
    cairo_rectangle(cr, tx, ty, tw, th);
    cairo_fill(cr);
    uint8_t fg[3];
    text_color_for(rgb, fg);
    set_color(cr, fg, 1.0);
    cairo_move_to(cr, tx + 1.0, ty + fe.ascent);
    cairo_show_text(cr, label);
}

void annotate_mask(Annotator *a, const MaskLayer *m, const uint8_t rgb[3], float alpha) {
    cairo_surface_flush(a->surface);
    unsigned char *base = cairo_image_surface_get_data(a->surface);
    int stride = cairo_image_surface_get_stride(a->surface);
    int x0 = m->x0 < 0 ? 0 : m->x0, y0 = m->y0 < 0 ? 0 : m->y0;
    int x1 = m->x1 > a->img->w ? a->img->w : m->x1, y1 = m->y1 > a->img->h ? a->img->h : m->y1;
    float keep = 1.0f - alpha;
    for (int y = y0; y < y1; y++) {
        int my = (int)floorf(((float)y + 0.5f) * m->scale_y + m->offset_y);
        if (my < 0 || my >= m->h) continue;
        uint32_t *row = (uint32_t *)(void *)(base + (size_t)y * (size_t)stride);
        const uint8_t *mrow = m->data + (size_t)my * (size_t)m->w;
        for (int x = x0; x < x1; x++) {
            int mx = (int)floorf(((float)x + 0.5f) * m->scale_x + m->offset_x);
            if (mx < 0 || mx >= m->w || !mrow[mx]) continue;
            uint32_t p = row[x];
            float c[3] = {(float)(p >> 16 & 0xff), (float)(p >> 8 & 0xff), (float)(p & 0xff)};
            uint32_t q = 0;
            for (int k = 0; k < 3; k++) q = q << 8 | (uint32_t)lroundf(c[k] * keep + (float)rgb[k] * alpha);
            row[x] = q;
        }
    }
    cairo_surface_mark_dirty(a->surface);
}

void annotate_text(Annotator *a, double x, double y, const char *const *lines, int n, const uint8_t rgb[3], bool backdrop) {
    cairo_t *cr = a->cr;
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double line_h = ceil(fe.ascent + fe.descent);
    if (backdrop) {
        double w = 0;
        for (int i = 0; i < n; i++) {
            cairo_text_extents_t te;
            cairo_text_extents(cr, lines[i], &te);
            if (te.x_advance > w) w = te.x_advance;
        }
        cairo_set_source_rgba(cr, 64 / 255.0, 64 / 255.0, 64 / 255.0, 0.5);
        cairo_rectangle(cr, x, y, ceil(w) + 4.0, line_h * n + 4.0);
        cairo_fill(cr);
        x += 2.0;
        y += 2.0;
    }
    set_color(cr, rgb, 1.0);
    for (int i = 0; i < n; i++) {
        cairo_move_to(cr, x, y + i * line_h + fe.ascent);
        cairo_show_text(cr, lines[i]);
    }
}

void annotate_rect(Annotator *a, double x, double y, double w, double h, const uint8_t rgb[3], double width) {
    set_color(a->cr, rgb, 1.0);
    cairo_set_line_width(a->cr, width);
    cairo_rectangle(a->cr, x, y, w, h);
    cairo_stroke(a->cr);
}
