// The Pillow image operations that Ultralytics' classify transforms reach through torchvision on
// PIL images (spec §6): resizing, affine warps, the ImageEnhance blends and the ImageOps
// look-up tables, computed with Pillow 9's arithmetic (fixed-point resampling, truncating float
// blends) so that our pixels follow the reference's. Each returns 0, or -1 with a message when
// memory runs out; in-place operations cannot fail.
#ifndef YOLO_DATA_PIL_OPS_H
#define YOLO_DATA_PIL_OPS_H

#include "data/image.h"

// Image.resize((w, h), BILINEAR): a separable triangle filter whose support widens with the
// reduction (antialiasing), weights in 22-bit fixed point, the horizontal pass first and each
// pass rounded to 8 bits. `dst` (empty or freed) receives the w x h image.
int pil_resize_bilinear(const Image *src, int w, int h, Image *dst);

// Image.transform(size, AFFINE, m, BILINEAR): output pixel (x, y) samples the input at
// (m0 (x + .5) + m1 (y + .5) + m2, m3 (x + .5) + m4 (y + .5) + m5), bilinearly, truncated to
// 8 bits; points outside the input give black. `dst` receives an image of src's size.
int pil_affine(const Image *src, const double m[6], Image *dst);

// torchvision's inverse affine matrix for PIL (functional._get_inverse_affine_matrix): rotation
// by `angle` degrees about (cx, cy), then translation, scale and shear (degrees), as the matrix
// pil_affine takes.
void pil_inverse_affine_matrix(double cx, double cy, double angle, double tx, double ty, double scale, double shear_x,
                               double shear_y, double m[6]);

// Image.rotate(angle, BILINEAR) about the centre, counter-clockwise for positive degrees, black
// outside.
int pil_rotate(const Image *src, double angle, Image *dst);

// The ImageEnhance factors (Image.blend of a degenerate image and the image; factor 1 leaves it):
// brightness blends with black, color (saturation) with the grey of each pixel, contrast with
// the image's mean grey, sharpness with its 3x3 SMOOTH filtering.
void pil_brightness(Image *img, float factor);
void pil_color(Image *img, float factor);
void pil_contrast(Image *img, float factor);
int pil_sharpness(Image *img, float factor);

// torchvision's adjust_hue on a PIL image: H of Pillow's 8-bit HSV shifted by uint8(factor * 255)
// with wrap-around, factor in [-0.5, 0.5].
void pil_hue(Image *img, float factor);

// ImageOps: posterize keeps the top `bits` bits, solarize inverts values >= threshold,
// autocontrast stretches each channel's range to 0..255, equalize flattens each channel's
// histogram.
void pil_posterize(Image *img, int bits);
void pil_solarize(Image *img, double threshold);
void pil_autocontrast(Image *img);
void pil_equalize(Image *img);

// Pillow's RGB -> L grey: (19595 R + 38470 G + 7471 B + 2^15) >> 16.
static inline int pil_grey(const uint8_t *rgb) { return (rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16; }

#endif
