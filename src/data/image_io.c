// Decoding and encoding of PNG (libpng) and JPEG (TurboJPEG). Decoded images are 8-bit RGB as
// OpenCV's imread(IMREAD_COLOR) returns them (Ultralytics trains from cv2.imread): 16-bit
// samples keep their high byte, alpha and tRNS are dropped, grey is replicated, and the EXIF
// orientation of JPEGs is applied to the pixels.
//
// What counts as a bad image follows Ultralytics' dataset scan (verify_image_label): sides under
// IMAGE_MIN_SIDE, more pixels than PIL opens (its DecompressionBombError), and JPEGs whose last
// two bytes are not the end-of-image marker. PNGs get the same treatment: a file that does not
// end with the IEND chunk is truncated. Both checks only need the file's tail, so the header-only
// image_read_size applies them too and agrees with image_decode.
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "core/status.h"
#include "data/image.h"

// PIL refuses images of more than 2 * Image.MAX_IMAGE_PIXELS pixels; Ultralytics then calls the
// image corrupt. The limit also keeps a forged header from asking for gigabytes.
static const long long MAX_PIXELS = 2LL * 89478485;

// The longest tail the truncation checks look at: PNG's IEND chunk.
enum { TAIL_LEN = 12 };

// How much of a file image_read_size reads first. 4 KiB holds most headers; EXIF thumbnails and
// ICC profiles can need more, so the prefix grows 16-fold until the header parses or the whole
// file is in.
enum { FIRST_PREFIX = 4096 };

typedef enum { FORMAT_PNG, FORMAT_JPEG } Format;

static const uint8_t PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
// An empty IEND chunk: length 0, type, and its fixed CRC.
static const uint8_t PNG_IEND[TAIL_LEN] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

// The format (a Format) told by the signature, or -1.
static int sniff(const uint8_t *bytes, size_t len, const char *name) {
    if (len == 0) return yolo_fail("%s: empty file", name);
    if (len >= sizeof PNG_SIGNATURE && memcmp(bytes, PNG_SIGNATURE, sizeof PNG_SIGNATURE) == 0) return FORMAT_PNG;
    if (len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) return FORMAT_JPEG;
    return yolo_fail("%s: not a PNG or JPEG (unknown signature)", name);
}

// `tail` holds the last `n` bytes of the file (n < TAIL_LEN only for files that short).
static int check_tail(Format fmt, const uint8_t *tail, size_t n, const char *name) {
    if (fmt == FORMAT_PNG) {
        if (n < TAIL_LEN || memcmp(tail + n - TAIL_LEN, PNG_IEND, TAIL_LEN) != 0)
            return yolo_fail("%s: truncated PNG (the file does not end with the IEND chunk)", name);
    } else if (n < 2 || tail[n - 2] != 0xff || tail[n - 1] != 0xd9) {
        return yolo_fail("%s: truncated JPEG (the file does not end with the end-of-image marker FFD9)", name);
    }
    return 0;
}

static int check_size(const char *name, long long w, long long h) {
    if (w < IMAGE_MIN_SIDE || h < IMAGE_MIN_SIDE)
        return yolo_fail("%s: image is %lldx%lld pixels, smaller than %d on a side", name, w, h, IMAGE_MIN_SIDE);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return yolo_fail("%s: image is %lldx%lld pixels, larger than %d on a side", name, w, h, IMAGE_MAX_SIDE);
    if (w * h > MAX_PIXELS)
        return yolo_fail("%s: image is %lldx%lld pixels, more than the %lld that PIL opens", name, w, h, MAX_PIXELS);
    return 0;
}

// ---- PNG ----

// Everything the decoder changes while libpng may longjmp lives here, in the caller's frame:
// locals of the function that called setjmp and were modified after it would be indeterminate
// after the jump.
typedef struct {
    const uint8_t *bytes;
    size_t len, pos;
    bool ran_out;
    char msg[160];
    uint8_t *pixels; // owned until handed to the Image
    png_bytep *rows;
} PngJob;

static void png_on_error(png_structp png, png_const_charp msg) {
    PngJob *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1);
}

// Warnings (a bad CRC in an ancillary chunk, an odd ICC profile) do not stop OpenCV either.
static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void png_read_bytes(png_structp png, png_bytep dst, size_t n) {
    PngJob *job = png_get_io_ptr(png);
    if (n > job->len - job->pos) {
        job->ran_out = true;
        png_error(png, "the data ends inside a chunk");
    }
    memcpy(dst, job->bytes + job->pos, n);
    job->pos += n;
}

// Reads the size (and with `out`, the pixels) of the PNG in job->bytes.
static int png_run(PngJob *job, const char *name, int *w, int *h, Image *out) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, png_on_error, png_on_warning);
    if (!png) return yolo_fail("%s: out of memory starting the PNG decoder", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return yolo_fail("%s: out of memory starting the PNG decoder", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(job->rows);
        free(job->pixels);
        job->rows = NULL;
        job->pixels = NULL;
        if (job->ran_out) return yolo_fail("%s: truncated PNG (%s)", name, job->msg);
        return yolo_fail("%s: corrupt PNG (%s)", name, job->msg);
    }
    // libpng's own side limit (1e6) would give a vaguer message than check_size.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_read_fn(png, job, png_read_bytes);
    png_read_info(png, info);
    png_uint_32 pw, ph;
    int depth, color;
    png_get_IHDR(png, info, &pw, &ph, &depth, &color, NULL, NULL, NULL);
    int rc = -1;
    if (check_size(name, pw, ph) != 0) goto done;
    *w = (int)pw;
    *h = (int)ph;
    if (!out) {
        rc = 0;
        goto done;
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    // Palette expansion also turns tRNS into alpha; both kinds of alpha go.
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)pw * 3) {
        yolo_fail("%s: unsupported PNG (colour type %d, %d bits)", name, color, depth);
        goto done;
    }
    // Zeroed because libpng tolerates a short IDAT stream (a benign error) and leaves the
    // missing rows unwritten; zeros keep decoding deterministic.
    job->pixels = calloc((size_t)pw * ph, 3);
    job->rows = malloc(sizeof *job->rows * ph);
    if (!job->pixels || !job->rows) {
        yolo_fail("%s: out of memory for %ux%u pixels", name, (unsigned)pw, (unsigned)ph);
        goto done;
    }
    for (png_uint_32 y = 0; y < ph; y++) job->rows[y] = job->pixels + (size_t)y * pw * 3;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
    *out = (Image){.w = (int)pw, .h = (int)ph, .rgb = job->pixels};
    job->pixels = NULL;
    rc = 0;
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(job->rows);
    free(job->pixels);
    job->rows = NULL;
    job->pixels = NULL;
    return rc;
}

// ---- JPEG ----

static unsigned get16(const uint8_t *p, bool big_endian) {
    return big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t get32(const uint8_t *p, bool big_endian) {
    return big_endian ? (uint32_t)get16(p, true) << 16 | get16(p + 2, true)
                      : (uint32_t)get16(p + 2, false) << 16 | get16(p, false);
}

// The Orientation tag (0x0112) of IFD0 in the TIFF structure t[0..n), or 1 when absent or odd.
static int tiff_orientation(const uint8_t *t, size_t n) {
    if (n < 8) return 1;
    bool be;
    if (t[0] == 'M' && t[1] == 'M') be = true;
    else if (t[0] == 'I' && t[1] == 'I') be = false;
    else return 1;
    if (get16(t + 2, be) != 42) return 1;
    uint32_t ifd = get32(t + 4, be);
    if (ifd < 8 || ifd > n - 2) return 1;
    unsigned entries = get16(t + ifd, be);
    for (unsigned i = 0; i < entries; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i;
        if (e + 12 > n) return 1;
        if (get16(t + e, be) != 0x0112) continue;
        unsigned type = get16(t + e + 2, be);
        uint32_t value = type == 3 ? get16(t + e + 8, be) : type == 4 ? get32(t + e + 8, be) : 0;
        return get32(t + e + 4, be) == 1 && value >= 1 && value <= 8 ? (int)value : 1;
    }
    return 1;
}

// The EXIF orientation (1..8) of a JPEG: from the first APP1 "Exif" segment before the scan,
// as PIL and OpenCV take it; 1 when there is none or the markers are malformed.
static int exif_orientation(const uint8_t *b, size_t len) {
    size_t p = 2; // after SOI
    while (p + 4 <= len) {
        if (b[p] != 0xff) return 1;
        uint8_t marker = b[p + 1];
        if (marker == 0xff) { // fill byte before a marker
            p++;
            continue;
        }
        if (marker == 0xda || marker == 0xd9) return 1; // start of scan, end of image
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // TEM, RSTn: no length
            p += 2;
            continue;
        }
        size_t seg = (size_t)b[p + 2] << 8 | b[p + 3]; // counts its own two bytes
        if (seg < 2 || seg > len - p - 2) return 1;
        if (marker == 0xe1 && seg >= 8 && memcmp(b + p + 4, "Exif\0\0", 6) == 0)
            return tiff_orientation(b + p + 10, seg - 8);
        p += 2 + seg;
    }
    return 1;
}

// Writes the w x h image `src` into `dst` as the EXIF orientation says it is viewed. Source pixel
// (x, y) lands at destination pixel index origin + x * sx + y * sy; orientations 5-8 transpose,
// so their destination is h pixels wide.
static void orient(const uint8_t *src, int w, int h, int orientation, uint8_t *dst) {
    ptrdiff_t W = w, H = h, origin, sx, sy;
    switch (orientation) {
    case 2: origin = W - 1, sx = -1, sy = W; break;                 // mirrored left-right
    case 3: origin = (H - 1) * W + W - 1, sx = -1, sy = -W; break;  // rotated 180
    case 4: origin = (H - 1) * W, sx = 1, sy = -W; break;           // mirrored top-bottom
    case 5: origin = 0, sx = H, sy = 1; break;                      // transposed
    case 6: origin = H - 1, sx = H, sy = -1; break;                 // rotate 90 clockwise to view
    case 7: origin = (W - 1) * H + H - 1, sx = -H, sy = -1; break;  // transversed
    case 8: origin = (W - 1) * H, sx = -H, sy = 1; break;           // rotate 90 anticlockwise
    default: origin = 0, sx = 1, sy = W; break;
    }
    for (ptrdiff_t y = 0; y < H; y++) {
        const uint8_t *s = src + y * W * 3;
        uint8_t *d = dst + (origin + y * sy) * 3;
        for (ptrdiff_t x = 0; x < W; x++) memcpy(d + x * sx * 3, s + x * 3, 3);
    }
}

// CMYK as libjpeg returns it (Adobe's inverted convention) to RGB in place, as OpenCV's imread
// converts it.
static void cmyk_to_rgb(uint8_t *buf, size_t pixels) {
    for (size_t i = 0; i < pixels; i++) {
        const uint8_t *s = buf + 4 * i;
        int c = s[0], m = s[1], y = s[2], k = s[3]; // read all before writing: d overlaps s
        uint8_t *d = buf + 3 * i;
        d[0] = (uint8_t)(k - ((255 - c) * k >> 8));
        d[1] = (uint8_t)(k - ((255 - m) * k >> 8));
        d[2] = (uint8_t)(k - ((255 - y) * k >> 8));
    }
}

static int jpeg_run(const uint8_t *bytes, size_t len, const char *name, int *w, int *h, Image *out) {
    tjhandle tj = tjInitDecompress();
    if (!tj) return yolo_fail("%s: cannot start the JPEG decoder (%s)", name, tjGetErrorStr2(NULL));
    int rc = -1, jw = 0, jh = 0, subsamp, colorspace; // a tables-only stream leaves jw, jh alone
    uint8_t *raw = NULL;
    if (tjDecompressHeader3(tj, bytes, (unsigned long)len, &jw, &jh, &subsamp, &colorspace) != 0) {
        yolo_fail("%s: corrupt JPEG header (%s)", name, tjGetErrorStr2(tj));
        goto done;
    }
    if (check_size(name, jw, jh) != 0) goto done;
    int orientation = exif_orientation(bytes, len);
    *w = orientation >= 5 ? jh : jw;
    *h = orientation >= 5 ? jw : jh;
    if (!out) {
        rc = 0;
        goto done;
    }
    // TurboJPEG converts only YCbCr, RGB and grey to RGB; CMYK and YCCK come out as CMYK.
    bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    int format = cmyk ? TJPF_CMYK : TJPF_RGB;
    size_t pixels = (size_t)jw * (size_t)jh;
    raw = malloc(pixels * (size_t)tjPixelSize[format]);
    if (!raw) {
        yolo_fail("%s: out of memory for %dx%d pixels", name, jw, jh);
        goto done;
    }
    // Warnings (extraneous bytes, a corrupt segment) still give a complete image, and OpenCV
    // accepts such files; truncation was refused by check_tail. LIMITSCANS refuses progressive
    // files with absurd scan counts, which would take minutes to decode.
    if (tjDecompress2(tj, bytes, (unsigned long)len, raw, jw, 0, jh, format, TJFLAG_LIMITSCANS) != 0 &&
        tjGetErrorCode(tj) != TJERR_WARNING) {
        yolo_fail("%s: corrupt JPEG (%s)", name, tjGetErrorStr2(tj));
        goto done;
    }
    if (cmyk) cmyk_to_rgb(raw, pixels);
    if (orientation == 1) {
        *out = (Image){.w = jw, .h = jh, .rgb = raw};
        raw = NULL;
    } else {
        if (image_alloc(out, *w, *h) != 0) goto done;
        orient(raw, jw, jh, orientation, out->rgb);
    }
    rc = 0;
done:
    free(raw);
    tjDestroy(tj);
    return rc;
}

// Checks `tail` (the file's last bytes), then reads the size and, with `out`, the pixels.
static int decode(const uint8_t *bytes, size_t len, const uint8_t *tail, size_t tail_len, const char *name, int *w,
                  int *h, Image *out) {
    int fmt = sniff(bytes, len, name);
    TRY_ID(fmt);
    TRY(check_tail((Format)fmt, tail, tail_len, name));
    if (fmt == FORMAT_PNG) {
        PngJob job = {.bytes = bytes, .len = len};
        return png_run(&job, name, w, h, out);
    }
    return jpeg_run(bytes, len, name, w, h, out);
}

int image_decode(const uint8_t *bytes, size_t len, const char *name, Image *out) {
    *out = (Image){0};
    int w, h;
    size_t tail_len = len < TAIL_LEN ? len : TAIL_LEN;
    const uint8_t *tail = len ? bytes + len - tail_len : bytes; // no arithmetic on a NULL `bytes`
    return decode(bytes, len, tail, tail_len, name, &w, &h, out);
}

// ---- files ----

// Opens a regular file and tells its size.
static FILE *open_regular(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        yolo_fail("%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        yolo_fail("%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}

static int read_at(FILE *f, off_t offset, uint8_t *dst, size_t n, const char *path) {
    if (fseeko(f, offset, SEEK_SET) != 0 || fread(dst, 1, n, f) != n)
        return yolo_fail("%s: read error (%s)", path, ferror(f) ? strerror(errno) : "the file shrank");
    return 0;
}

// Reads the whole file into a new buffer (at least 1 byte allocated, so empty files work).
static int read_all(FILE *f, size_t size, const char *path, uint8_t **bytes) {
    *bytes = malloc(size ? size : 1);
    mallocCheck(*bytes);
    if (read_at(f, 0, *bytes, size, path) != 0) {
        free(*bytes);
        *bytes = NULL;
        return -1;
    }
    return 0;
}

int image_read(const char *path, Image *out) {
    *out = (Image){0};
    size_t size;
    FILE *f = open_regular(path, &size);
    if (!f) return -1;
    uint8_t *bytes;
    int rc = read_all(f, size, path, &bytes);
    fclose(f);
    if (rc != 0) return -1;
    rc = image_decode(bytes, size, path, out);
    free(bytes);
    return rc;
}

int image_read_size(const char *path, int *w, int *h) {
    size_t size;
    FILE *f = open_regular(path, &size);
    if (!f) return -1;
    uint8_t tail[TAIL_LEN], *prefix = NULL;
    size_t tail_len = size < TAIL_LEN ? size : TAIL_LEN, have = 0;
    int rc = read_at(f, (off_t)(size - tail_len), tail, tail_len, path);
    for (size_t want = FIRST_PREFIX; rc == 0; want *= 16) {
        size_t n = size < want ? size : want;
        uint8_t *grown = realloc(prefix, n ? n : 1);
        if (!grown) {
            rc = yolo_fail("%s: out of memory reading %zu bytes", path, n);
            break;
        }
        prefix = grown;
        if (read_at(f, (off_t)have, prefix + have, n - have, path) != 0) {
            rc = -1;
            break;
        }
        have = n;
        int parsed = decode(prefix, n, tail, tail_len, path, w, h, NULL);
        if (parsed == 0 || n == size) {
            rc = parsed;
            break;
        }
        yolo_error_clear(); // the header may go on past the prefix: read more and parse again
    }
    free(prefix);
    fclose(f);
    return rc;
}

// ---- writing ----

static int check_writable(const char *path, const Image *img) {
    if (!img->rgb || img->w < 1 || img->h < 1)
        return yolo_fail("%s: cannot write an empty image (%dx%d)", path, img->w, img->h);
    return 0;
}

int image_write_png(const char *path, const Image *img) {
    TRY(check_writable(path, img));
    png_bytep *rows = malloc(sizeof *rows * (size_t)img->h);
    mallocCheck(rows);
    for (int y = 0; y < img->h; y++) rows[y] = img->rgb + (size_t)y * (size_t)img->w * 3;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(rows);
        return yolo_fail("%s: cannot create (%s)", path, strerror(errno));
    }
    PngJob job = {0}; // only its message buffer is used
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        free(rows);
        remove(path);
        return yolo_fail("%s: out of memory starting the PNG encoder", path);
    }
    // No local is modified between here and a possible longjmp.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        free(rows);
        remove(path);
        return yolo_fail("%s: cannot write PNG (%s)", path, job.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    bool failed = ferror(f) != 0;
    failed |= fclose(f) != 0; // flushes: a full disk shows here
    if (failed) {
        remove(path);
        return yolo_fail("%s: write error (%s)", path, strerror(errno));
    }
    return 0;
}

int image_write_jpeg(const char *path, const Image *img, int quality) {
    TRY(check_writable(path, img));
    if (quality < 1 || quality > 100) return yolo_fail("%s: JPEG quality %d is not in 1..100", path, quality);
    tjhandle tj = tjInitCompress();
    if (!tj) return yolo_fail("%s: cannot start the JPEG encoder (%s)", path, tjGetErrorStr2(NULL));
    unsigned char *buf = NULL;
    unsigned long size = 0;
    // 4:2:0 and the accurate DCT are libjpeg's defaults, which OpenCV and PIL write with.
    if (tjCompress2(tj, img->rgb, img->w, 0, img->h, TJPF_RGB, &buf, &size, TJSAMP_420, quality, TJFLAG_ACCURATEDCT) !=
        0) {
        yolo_fail("%s: cannot encode JPEG (%s)", path, tjGetErrorStr2(tj));
        tjFree(buf);
        tjDestroy(tj);
        return -1;
    }
    tjDestroy(tj);
    FILE *f = fopen(path, "wb");
    if (!f) {
        tjFree(buf);
        return yolo_fail("%s: cannot create (%s)", path, strerror(errno));
    }
    bool ok = fwrite(buf, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    tjFree(buf);
    if (!ok) {
        remove(path);
        return yolo_fail("%s: write error (%s)", path, strerror(errno));
    }
    return 0;
}
