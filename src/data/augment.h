// Detection and segmentation augmentation, spec §8: mosaic of 4, random perspective, HSV jitter,
// flips, letterbox, box-candidate filtering, polygon transforms and overlap-mask rasterisation.
// Every random draw comes from the caller's RngCursor, in an order documented at each function,
// and each function takes the same number of draws whatever its parameters, so a sample is a
// pure function of (seed, epoch, index) and later stages never shift earlier ones.
//
// Coordinates follow OpenCV's warp convention: pixel (x, y) is the point (x, y), so a point p
// moves to M p exactly as the pixel grid does.
#ifndef YOLO_DATA_AUGMENT_H
#define YOLO_DATA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "data/image.h"
#include "data/labels.h"

// The value of padding and of pixels a warp brings in from outside the image (Ultralytics' grey).
enum { AUGMENT_PAD_VALUE = 114 };

// Objects in pixel coordinates of their image. A zeroed struct is the empty list; cap and
// points_cap are the allocated room, so one Instances can be refilled without reallocating.
typedef struct {
    int n, cap;
    int *cls;      // [n]
    float *boxes;  // [n][4]: x1, y1, x2, y2 in pixels
    int *poly;     // [n + 1] offsets into points, or NULL (no polygons)
    float *points; // [poly[n]][2] in pixels
    int points_cap;
} Instances;

typedef struct {
    Image img;
    Instances inst;
} Sample;

typedef struct {
    int imgsz;
    float hsv_h, hsv_s, hsv_v;
    float degrees, translate, scale, shear, perspective;
    float flipud, fliplr;
    float mosaic; // probability
} AugmentParams;

void instances_free(Instances *in);
void sample_free(Sample *s);
// Makes room for n objects and n_points polygon points (allocating poly when `polygons`), keeping
// the current contents; n itself is not changed.
int instances_reserve(Instances *in, int n, int n_points, bool polygons);
// Replaces `out` (empty or freed) with the labels of a w x h image: normalised cx, cy, w, h
// become pixel x1, y1, x2, y2, polygon points are scaled to pixels.
int instances_from_labels(const Labels *labels, int w, int h, Instances *out);
// Keeps objects idx[0], ..., idx[k - 1], in that order (a filter or a permutation).
int instances_select(Instances *in, const int *idx, int k);

// Mosaic: a 2s x 2s canvas of 114 with the four images placed around a random centre; objects
// shifted and clipped to the canvas, zero-area ones dropped. `out` (empty or freed) receives the
// 2*imgsz square canvas. Draws: 0 the centre's y, 1 its x, each int(U(s/2, 3s/2)).
int augment_mosaic4(const Sample parts[4], int imgsz, RngCursor *rng, Sample *out);
// The same with the centre (xc, yc) given, 0 <= xc, yc <= 2*imgsz; no draws.
int augment_mosaic4_at(const Sample parts[4], int imgsz, int xc, int yc, Sample *out);

// Random perspective/affine warp of s to (w + 2*border) x (h + 2*border) (border: -imgsz/2 after
// mosaic, 0 otherwise), boxes from transformed corners (or polygon points), clipping and
// box-candidate filtering. The image is resampled only when the matrix is not the identity or the
// border is not 0. Draws: the eight of augment_perspective_matrix.
int augment_random_perspective(Sample *s, const AugmentParams *p, int border, RngCursor *rng);
// The parts of random_perspective, exposed for tests and other pipelines.
// M = T S R P C (row-major 3x3) for an in_w x in_h image warped to out_w x out_h, and the zoom
// `scale` that was drawn. Draws, in order: 0, 1 perspective x, y ~ U(±perspective); 2 angle ~
// U(±degrees); 3 scale ~ U(1 - scale, 1 + scale); 4, 5 shear x, y ~ U(±shear) degrees;
// 6, 7 translation x, y ~ U(0.5 ± translate) * out size.
void augment_perspective_matrix(const AugmentParams *p, int in_w, int in_h, int out_w, int out_h, RngCursor *rng,
                                double m[9], double *scale);
// dst(x, y) = src(M^-1 (x, y)) with bilinear sampling, 114 outside src (cv2.warpAffine /
// warpPerspective with INTER_LINEAR and a constant border). `dst` (empty or freed) receives an
// out_w x out_h image; for a singular M (zero scale) it is all 114.
int augment_warp_image(const Image *src, const double m[9], int out_w, int out_h, Image *dst);
// Moves the objects by M: boxes from the 4 transformed corners, or, with polygons, every point
// transformed and the box taken from the points (segment2box); clipped to out_w x out_h; objects
// failing augment_box_candidate against their old box times `scale` are dropped.
int augment_warp_instances(Instances *in, const double m[9], double scale, int out_w, int out_h);
// Ultralytics' box_candidates: the new box is kept if w > 2, h > 2, area / old area > area_thr
// (0.1, or 0.01 with polygons) and max(w/h, h/w) < 100. Boxes are x1, y1, x2, y2.
bool augment_box_candidate(const float old_box[4], const float new_box[4], float area_thr);

// HSV jitter with OpenCV's uint8 HSV conventions (H in 0..179) via lookup tables. Draws: 0, 1, 2
// the gains r = U(-1, 1) * (hsv_h, hsv_s, hsv_v), taken even when all gains are 0 (then the
// image is left as it is).
void augment_hsv(Image *img, const AugmentParams *p, RngCursor *rng);
// One pixel through OpenCV's COLOR_RGB2HSV / COLOR_HSV2RGB for 8-bit images.
void rgb_to_hsv_u8(const uint8_t rgb[3], uint8_t hsv[3]);
void hsv_to_rgb_u8(const uint8_t hsv[3], uint8_t rgb[3]);

// Vertical flip with probability p.flipud, then horizontal with p.fliplr (x -> W - x for boxes
// and points). Draws: 0 the vertical flip, 1 the horizontal one, each flipping when U(0, 1) < p.
void augment_flip(Sample *s, const AugmentParams *p, RngCursor *rng);

// Letterbox to tw x th (scaleup: allow enlarging), padding 114 centred as Ultralytics does.
// `out` (empty or freed) receives the image and the moved objects. ratio_pad receives
// (rx, ry, pad_left, pad_top): a point p of `in` is at p * r + pad in `out`.
int letterbox(const Sample *in, int tw, int th, bool scaleup, Sample *out, float ratio_pad[4]);

// One uint8 map of (h / ratio) x (w / ratio) per image: 0 background, k the k-th object
// (1-based) after sorting objects by mask area, largest first (smaller ones overwrite). Reorders
// s->inst to match, as Ultralytics does. Without polygons the map is all 0. At most 255 objects.
int rasterize_overlap_masks(Sample *s, int ratio, uint8_t *map);

#endif
