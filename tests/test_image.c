// Image decoding and encoding: round trips, every PNG colour type, EXIF orientations spliced into
// real JPEGs, header-only sizes, and the files a dataset scan must refuse.
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "data/image.h"
#include "file_util.h"
#include "fuzz/png_fixup.h"
#include "scratch.h"
#include "test.h"

// ---- scratch files ----

static char scratch_dir[64];

static void remove_scratch_dir(void) {
    scratch_remove(scratch_dir);
}

// Writes into `path` a path in this run's scratch folder (removed at exit) and returns it.
static const char *scratch(const char *name, char path[static 128]) {
    if (!scratch_dir[0]) {
        if (!scratch_make(scratch_dir, sizeof scratch_dir, "image")) {
            scratch_dir[0] = '\0';
            snprintf(path, 128, "/nonexistent/%s", name);
            return path;
        }
        atexit(remove_scratch_dir);
    }
    snprintf(path, 128, "%s/%s", scratch_dir, name);
    return path;
}

// An image with a different value in every channel of neighbouring pixels.
static Image pattern(int w, int h) {
    Image img;
    if (image_alloc(&img, w, h) != 0) return img;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) img.rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(x * 13 + y * 7 + c * 50);
    return img;
}

static const uint8_t *pixel(const Image *img, int x, int y) {
    return img->rgb + ((size_t)y * img->w + x) * 3;
}

// ---- round trips ----

TEST(image_png_round_trip_is_exact) {
    Image img = pattern(37, 23), back;
    char path[128];
    scratch("rt.png", path);
    EXPECT_OK(image_write_png(path, &img));
    EXPECT_OK(image_read(path, &back));
    EXPECT(back.w == 37 && back.h == 23);
    EXPECT(back.rgb && memcmp(back.rgb, img.rgb, 37 * 23 * 3) == 0);
    int w = 0, h = 0;
    EXPECT_OK(image_read_size(path, &w, &h));
    EXPECT(w == 37 && h == 23);
    image_free(&img);
    image_free(&back);
}

TEST(image_jpeg_round_trip_is_close) {
    // Smooth content, as JPEG is meant for: errors stay within a few levels.
    Image img;
    EXPECT_OK(image_alloc(&img, 64, 48));
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img.rgb + ((size_t)y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 5);
            p[2] = 128;
        }
    char path[128];
    scratch("rt.jpg", path);
    EXPECT_OK(image_write_jpeg(path, &img, 95));
    Image back;
    EXPECT_OK(image_read(path, &back));
    EXPECT(back.w == 64 && back.h == 48);
    double sum = 0;
    int worst = 0;
    for (size_t i = 0; back.rgb && i < 64 * 48 * 3; i++) {
        int d = abs(back.rgb[i] - img.rgb[i]);
        sum += d;
        worst = d > worst ? d : worst;
    }
    EXPECT(sum / (64 * 48 * 3) < 2.0);
    EXPECT(worst <= 12);
    int w = 0, h = 0;
    EXPECT_OK(image_read_size(path, &w, &h));
    EXPECT(w == 64 && h == 48);
    image_free(&img);
    image_free(&back);
}

TEST(image_write_rejects_bad_arguments) {
    Image img = pattern(16, 16), empty = {0};
    char path[128];
    EXPECT_FAILS_WITH(image_write_jpeg(scratch("q.jpg", path), &img, 0), "quality 0");
    EXPECT_FAILS_WITH(image_write_png(scratch("e.png", path), &empty), "empty image");
    EXPECT_FAILS_WITH(image_write_png("/nonexistent-dir/x.png", &img), "cannot create");
    EXPECT_FAILS_WITH(image_write_jpeg("/nonexistent-dir/x.jpg", &img, 90), "cannot create");
    image_free(&img);
}

// ---- PNG colour types, written with libpng directly ----

typedef struct {
    const char *what;
    int color, depth, interlace;
    unsigned (*sample)(int x, int y, int c); // within the bit depth's range
    void (*expect)(int x, int y, uint8_t rgb[3]);
} PngCase;

static unsigned gray_of(int x, int y) {
    return (unsigned)(x * 13 + y * 7) & 255;
}

static unsigned s_gray8(int x, int y, int c) {
    (void)c;
    return gray_of(x, y);
}
static unsigned s_gray16(int x, int y, int c) {
    (void)c;
    return gray_of(x, y) << 8 | (unsigned)(x * 5 & 255);
}
static unsigned s_gray1(int x, int y, int c) {
    (void)c;
    return (unsigned)(x + y) & 1;
}
static unsigned s_gray_alpha(int x, int y, int c) {
    return c == 0 ? gray_of(x, y) : (unsigned)(x * 9 & 255);
}
static unsigned s_rgb8(int x, int y, int c) {
    return (unsigned)(x * 13 + y * 7 + c * 50) & 255;
}
static unsigned s_rgb16(int x, int y, int c) {
    return s_rgb8(x, y, c) << 8 | 0x7f;
}
static unsigned s_rgba(int x, int y, int c) {
    return c < 3 ? s_rgb8(x, y, c) : (unsigned)(y * 17 & 255);
}
static unsigned s_index(int x, int y, int c) {
    (void)c;
    return (unsigned)(x + y) % 16;
}

static void e_gray(int x, int y, uint8_t rgb[3]) {
    rgb[0] = rgb[1] = rgb[2] = (uint8_t)gray_of(x, y);
}
static void e_gray1(int x, int y, uint8_t rgb[3]) {
    rgb[0] = rgb[1] = rgb[2] = s_gray1(x, y, 0) ? 255 : 0;
}
static void e_rgb(int x, int y, uint8_t rgb[3]) {
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)s_rgb8(x, y, c);
}
static png_color palette_entry(unsigned i) {
    return (png_color){.red = (png_byte)(i * 16), .green = (png_byte)(255 - i * 16), .blue = (png_byte)(i * 7)};
}
static void e_palette(int x, int y, uint8_t rgb[3]) {
    png_color p = palette_entry(s_index(x, y, 0));
    rgb[0] = p.red;
    rgb[1] = p.green;
    rgb[2] = p.blue;
}

static int channels_of(int color) {
    switch (color) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

// Packs samples MSB first at any bit depth (16-bit samples big-endian, as PNG stores them).
static void pack_row(const PngCase *k, int w, int y, uint8_t *row) {
    int ch = channels_of(k->color);
    size_t bit = 0;
    memset(row, 0, ((size_t)w * ch * k->depth + 7) / 8);
    for (int x = 0; x < w; x++)
        for (int c = 0; c < ch; c++) {
            unsigned v = k->sample(x, y, c);
            for (int b = k->depth - 1; b >= 0; b--, bit++)
                if (v >> b & 1) row[bit / 8] |= (uint8_t)(0x80 >> bit % 8);
        }
}

static int write_png_case(const char *path, const PngCase *k, int w, int h) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint8_t *rows = malloc((size_t)h * ((size_t)w * 8 + 1));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!rows || !info) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, k->depth, k->color, k->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (k->color == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[16];
        png_byte alpha[16];
        for (unsigned i = 0; i < 16; i++) {
            palette[i] = palette_entry(i);
            alpha[i] = (png_byte)(i * 10); // tRNS must not change the colours
        }
        png_set_PLTE(png, info, palette, 16);
        png_set_tRNS(png, info, alpha, 16, NULL);
    }
    png_write_info(png, info);
    png_bytep row_ptrs[64];
    size_t stride = (size_t)w * 8 + 1;
    for (int y = 0; y < h && y < 64; y++) {
        row_ptrs[y] = rows + (size_t)y * stride;
        pack_row(k, w, y, row_ptrs[y]);
    }
    png_write_image(png, row_ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return fclose(f);
}

TEST(image_png_every_colour_type_decodes_to_rgb) {
    const PngCase cases[] = {
        {"gray 8", PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, s_gray8, e_gray},
        {"gray 16 (high byte kept)", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, s_gray16, e_gray},
        {"gray 1", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, s_gray1, e_gray1},
        {"gray+alpha 8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, s_gray_alpha, e_gray},
        {"rgb 16", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, s_rgb16, e_rgb},
        {"rgba 8 (alpha dropped)", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, s_rgba, e_rgb},
        {"palette 4 with tRNS", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, s_index, e_palette},
        {"palette 8", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, s_index, e_palette},
        {"rgb 8 interlaced", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, s_rgb8, e_rgb},
    };
    const int w = 21, h = 13;
    char path[128];
    scratch("kind.png", path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const PngCase *k = &cases[i];
        if (write_png_case(path, k, w, h) != 0) {
            test_fail(__FILE__, __LINE__, "%s: could not write the test file", k->what);
            continue;
        }
        Image img;
        if (image_read(path, &img) != 0) {
            test_fail(__FILE__, __LINE__, "%s: %s", k->what, yolo_error());
            yolo_error_clear();
            continue;
        }
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t want[3];
                k->expect(x, y, want);
                bad += memcmp(pixel(&img, x, y), want, 3) != 0;
            }
        if (img.w != w || img.h != h || bad) test_fail(__FILE__, __LINE__, "%s: %dx%d, %d wrong pixels", k->what, img.w, img.h, bad);
        image_free(&img);
    }
}

// ---- EXIF orientation ----

// A TIFF structure whose IFD0 has a Make tag and then Orientation, in either byte order.
static size_t exif_tiff(uint8_t *t, int orientation, bool big_endian) {
    size_t n = 0;
#define PUT16(v) (big_endian ? (t[n] = (uint8_t)((v) >> 8), t[n + 1] = (uint8_t)(v)) : (t[n] = (uint8_t)(v), t[n + 1] = (uint8_t)((v) >> 8)), n += 2)
#define PUT32(v) (big_endian ? (PUT16((v) >> 16), PUT16((v) & 0xffff)) : (PUT16((v) & 0xffff), PUT16((v) >> 16)))
    t[n++] = big_endian ? 'M' : 'I';
    t[n++] = big_endian ? 'M' : 'I';
    PUT16(42);
    PUT32(8);   // IFD0 right after the header
    PUT16(2);   // entries
    PUT16(0x010f); // Make, ASCII, 4 bytes inline
    PUT16(2);
    PUT32(4);
    memcpy(t + n, "cam", 4);
    n += 4;
    PUT16(0x0112); // Orientation, SHORT, 1 value
    PUT16(3);
    PUT32(1);
    PUT16((unsigned)orientation);
    PUT16(0);
    PUT32(0); // no next IFD
#undef PUT16
#undef PUT32
    return n;
}

// `jpeg` with an APP1 segment (payload `app1`, `app1_len` bytes) inserted right after SOI.
static uint8_t *splice_app1(const uint8_t *jpeg, size_t len, const uint8_t *app1, size_t app1_len, size_t *out_len) {
    size_t seg = 2 + app1_len;
    uint8_t *b = malloc(len + 2 + seg);
    if (!b) return NULL;
    memcpy(b, jpeg, 2);
    b[2] = 0xff;
    b[3] = 0xe1;
    b[4] = (uint8_t)(seg >> 8);
    b[5] = (uint8_t)seg;
    memcpy(b + 6, app1, app1_len);
    memcpy(b + 6 + app1_len, jpeg + 2, len - 2);
    *out_len = len + 2 + seg;
    return b;
}

static uint8_t *with_exif_orientation(const uint8_t *jpeg, size_t len, int orientation, bool big_endian, size_t *out_len) {
    uint8_t app1[64];
    memcpy(app1, "Exif\0\0", 6);
    size_t n = 6 + exif_tiff(app1 + 6, orientation, big_endian);
    return splice_app1(jpeg, len, app1, n, out_len);
}

// A 64x32 grey JPEG with a red 16x16 block in its top-left corner.
static uint8_t *marked_jpeg(size_t *len) {
    Image img;
    *len = 0;
    if (image_alloc(&img, 64, 32) != 0) return NULL;
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img.rgb + ((size_t)y * 64 + x) * 3;
            bool red = x < 16 && y < 16;
            p[0] = red ? 230 : 128;
            p[1] = p[2] = red ? 20 : 128;
        }
    char path[128];
    scratch("marked.jpg", path);
    uint8_t *b = NULL;
    if (image_write_jpeg(path, &img, 95) == 0) b = test_file_read(path, len);
    image_free(&img);
    return b;
}

static bool is_red(const uint8_t *p) {
    return p[0] > 180 && p[1] < 80 && p[2] < 80;
}

TEST(image_jpeg_exif_orientation_moves_pixels_and_size) {
    size_t len;
    uint8_t *jpeg = marked_jpeg(&len);
    EXPECT(jpeg != NULL);
    if (!jpeg) return;
    const int w = 64, h = 32, sx = 8, sy = 8; // a pixel inside the red block
    for (int big_endian = 0; big_endian <= 1; big_endian++)
        for (int o = 1; o <= 8; o++) {
            // Where source pixel (sx, sy) must appear when the image is viewed upright.
            const int want[9][2] = {{0, 0},          {sx, sy},         {w - 1 - sx, sy}, {w - 1 - sx, h - 1 - sy},
                                    {sx, h - 1 - sy}, {sy, sx},         {h - 1 - sy, sx}, {h - 1 - sy, w - 1 - sx},
                                    {sy, w - 1 - sx}};
            size_t n;
            uint8_t *b = with_exif_orientation(jpeg, len, o, big_endian, &n);
            Image img;
            if (!b || image_decode(b, n, "exif.jpg", &img) != 0) {
                test_fail(__FILE__, __LINE__, "orientation %d: %s", o, yolo_error());
                yolo_error_clear();
                free(b);
                continue;
            }
            bool swapped = o >= 5;
            int ww = swapped ? h : w, hh = swapped ? w : h;
            int tx = want[o][0], ty = want[o][1];
            if (img.w != ww || img.h != hh || !is_red(pixel(&img, tx, ty)) ||
                is_red(pixel(&img, ww - 1 - tx, hh - 1 - ty)))
                test_fail(__FILE__, __LINE__, "orientation %d (%s): %dx%d, red at (%d, %d): %d", o,
                          big_endian ? "MM" : "II", img.w, img.h, tx, ty, is_red(pixel(&img, tx, ty)));
            // The header-only size agrees.
            char path[128];
            scratch("exif.jpg", path);
            EXPECT(test_file_write(path, b, n));
            int rw = 0, rh = 0;
            EXPECT_OK(image_read_size(path, &rw, &rh));
            EXPECT(rw == ww && rh == hh);
                    image_free(&img);
            free(b);
        }
    free(jpeg);
}

TEST(image_jpeg_malformed_exif_is_ignored) {
    size_t len;
    uint8_t *jpeg = marked_jpeg(&len);
    EXPECT(jpeg != NULL);
    if (!jpeg) return;
    uint8_t app1[64];
    memcpy(app1, "Exif\0\0", 6);
    size_t tiff = exif_tiff(app1 + 6, 6, true);
    // Each variant breaks one thing; all must decode as orientation 1 (64x32). Offsets: TIFF at
    // 6, IFD0 at TIFF 8, the Orientation entry at TIFF 22 (tag, type, count, value).
    for (int variant = 0; variant < 5; variant++) {
        uint8_t a[64];
        memcpy(a, app1, sizeof a);
        size_t n = 6 + tiff;
        switch (variant) {
        case 0: a[6 + 7] = 0xf0; break;          // IFD offset far outside the segment
        case 1: a[6 + 22 + 3] = 7; break;        // Orientation of type UNDEFINED
        case 2: n = 6 + 20; break;               // segment cut inside the first entry
        case 3: a[6 + 22 + 9] = 9; break;        // orientation 9
        case 4: a[6] = 'X'; break;               // not a byte order mark
        }
        size_t m;
        uint8_t *b = splice_app1(jpeg, len, a, n, &m);
        Image img;
        EXPECT(b != NULL);
        if (!b) continue;
        EXPECT_OK(image_decode(b, m, "bad-exif.jpg", &img));
        EXPECT(img.w == 64 && img.h == 32);
        image_free(&img);
        free(b);
    }
    free(jpeg);
}

// A header bigger than the prefix image_read_size reads first (two 60 kB APP2 segments before
// the frame header) still gives the size.
TEST(image_read_size_handles_large_headers) {
    size_t len;
    uint8_t *jpeg = marked_jpeg(&len);
    EXPECT(jpeg != NULL);
    if (!jpeg) return;
    const size_t seg = 60000;
    uint8_t *b = malloc(len + 2 * (seg + 2));
    EXPECT(b != NULL);
    if (b) {
        memcpy(b, jpeg, 2);
        size_t p = 2;
        for (int i = 0; i < 2; i++) {
            b[p] = 0xff;
            b[p + 1] = 0xe2;
            b[p + 2] = (uint8_t)(seg >> 8);
            b[p + 3] = (uint8_t)seg;
            memset(b + p + 4, 'x', seg - 2);
            p += seg + 2;
        }
        memcpy(b + p, jpeg + 2, len - 2);
        char path[128];
        scratch("big-header.jpg", path);
        EXPECT(test_file_write(path, b, p + len - 2));
        int w = 0, h = 0;
        EXPECT_OK(image_read_size(path, &w, &h));
        EXPECT(w == 64 && h == 32);
            free(b);
    }
    free(jpeg);
}

TEST(image_jpeg_cmyk_converts_like_opencv) {
    // A flat CMYK image compressed by TurboJPEG (as YCCK); flat colour survives JPEG nearly exactly.
    enum { W = 16, H = 16 };
    uint8_t cmyk[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        cmyk[4 * i + 0] = 255;
        cmyk[4 * i + 1] = 128;
        cmyk[4 * i + 2] = 0;
        cmyk[4 * i + 3] = 200;
    }
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long size = 0;
    EXPECT(tj && tjCompress2(tj, cmyk, W, 0, H, TJPF_CMYK, &buf, &size, TJSAMP_444, 100, 0) == 0);
    tjDestroy(tj);
    Image img;
    EXPECT_OK(image_decode(buf, size, "cmyk.jpg", &img));
    // OpenCV: channel = k - ((255 - value) * k >> 8).
    const int want[3] = {200 - (0 * 200 >> 8), 200 - (127 * 200 >> 8), 200 - (255 * 200 >> 8)};
    for (int c = 0; c < 3 && img.rgb; c++) EXPECT_NEAR(pixel(&img, 5, 5)[c], want[c], 3);
    image_free(&img);
    tjFree(buf);
}

// ---- rejections ----

// Both image_read and image_read_size refuse `path`, naming it and the problem.
static void expect_refused(const char *path, const char *fragment, int line) {
    Image img;
    int w, h;
    for (int pass = 0; pass < 2; pass++) {
        yolo_error_clear();
        int rc = pass == 0 ? image_read(path, &img) : image_read_size(path, &w, &h);
        const char *fn = pass == 0 ? "image_read" : "image_read_size";
        if (rc == 0) {
            test_fail(__FILE__, line, "%s(%s) succeeded", fn, path);
            if (pass == 0) image_free(&img);
        } else if (!strstr(yolo_error(), fragment) || !strstr(yolo_error(), path)) {
            test_fail(__FILE__, line, "%s: \"%s\" lacks \"%s\" or the path", fn, yolo_error(), fragment);
        }
        yolo_error_clear();
    }
}

TEST(image_refuses_bad_files) {
    Image img = pattern(30, 20);
    char png[128], jpg[128], bad[128], missing[128], dir[128];
    scratch("good.png", png);
    scratch("good.jpg", jpg);
    scratch("bad.img", bad);
    scratch("missing.png", missing);
    scratch("a-dir.png", dir);
    EXPECT_OK(image_write_png(png, &img));
    EXPECT_OK(image_write_jpeg(jpg, &img, 90));
    size_t png_len, jpg_len;
    uint8_t *pb = test_file_read(png, &png_len), *jb = test_file_read(jpg, &jpg_len);
    EXPECT(pb && jb);
    if (!pb || !jb) return;

    EXPECT(test_file_write(bad, pb, png_len / 2));
    expect_refused(bad, "truncated PNG", __LINE__);
    EXPECT(test_file_write(bad, pb, png_len - 1));
    expect_refused(bad, "truncated PNG", __LINE__);
    EXPECT(test_file_write(bad, jb, jpg_len / 2));
    expect_refused(bad, "truncated JPEG", __LINE__);
    EXPECT(test_file_write(bad, jb, jpg_len - 1));
    expect_refused(bad, "truncated JPEG", __LINE__);
    EXPECT(test_file_write(bad, pb, 0));
    expect_refused(bad, "empty file", __LINE__);
    uint8_t noise[256];
    for (int i = 0; i < 256; i++) noise[i] = (uint8_t)(i * 151 + 7);
    EXPECT(test_file_write(bad, noise, sizeof noise));
    expect_refused(bad, "not a PNG or JPEG", __LINE__);
    expect_refused(missing, "cannot open", __LINE__);
    mkdir(dir, 0700);
    expect_refused(dir, "not a regular file", __LINE__);

    // Too small on one side, in both formats.
    Image small = pattern(9, 40);
    EXPECT_OK(image_write_png(bad, &small));
    expect_refused(bad, "smaller than 10", __LINE__);
    EXPECT_OK(image_write_jpeg(bad, &small, 90));
    expect_refused(bad, "smaller than 10", __LINE__);
    image_free(&small);

    // A PNG whose image data is damaged but whose chunks are all there: the decoder notices
    // (CRC), the header-only size cannot.
    uint8_t *damaged = malloc(png_len);
    if (damaged) {
        memcpy(damaged, pb, png_len);
        damaged[png_len - 20] ^= 0x55; // inside the IDAT chunk
        Image out;
        EXPECT_FAILS_WITH(image_decode(damaged, png_len, "damaged.png", &out), "damaged.png: corrupt PNG");
        free(damaged);
    }
    // Forged IHDR size (CRC fixed, then an empty IDAT and IEND): far too large, refused from
    // the header alone.
    uint8_t forged[33 + 12 + 12] = {0};
    memcpy(forged, pb, 33);
    forged[16] = 0x00, forged[17] = 0x01, forged[18] = 0x00, forged[19] = 0x00; // width 65536
    memcpy(forged + 33 + 4, "IDAT", 4);
    memcpy(forged + 45, pb + png_len - 12, 12); // IEND
    for (int chunk = 0; chunk < 2; chunk++) {
        size_t type = chunk ? 37 : 12, data_len = chunk ? 0 : 13;
        uint32_t crc = png_crc32(forged + type, 4 + data_len);
        for (int i = 0; i < 4; i++) forged[type + 4 + data_len + i] = (uint8_t)(crc >> (24 - 8 * i));
    }
    EXPECT(test_file_write(bad, forged, sizeof forged));
    expect_refused(bad, "larger than 32768", __LINE__);

    // A JPEG cut inside its scan but ending with the end-of-image marker: TurboJPEG only warns,
    // and OpenCV would decode it, so it is accepted with its full size.
    uint8_t *cut = malloc(jpg_len);
    if (cut) {
        memcpy(cut, jb, jpg_len * 3 / 4);
        cut[jpg_len * 3 / 4] = 0xff;
        cut[jpg_len * 3 / 4 + 1] = 0xd9;
        Image out;
        EXPECT_OK(image_decode(cut, jpg_len * 3 / 4 + 2, "cut.jpg", &out));
        EXPECT(out.w == 30 && out.h == 20);
        image_free(&out);
        free(cut);
    }

    free(pb);
    free(jb);
    image_free(&img);
}
