// The classify transforms (spec §6): Ultralytics' classify_augmentations for training and
// classify_transforms for validation, which torchvision runs on PIL images. The pixel operations
// are Pillow's (data/pil_ops.h); the random draws come from the caller's RngCursor, in a fixed
// number whatever the parameters, so that a sample is a pure function of (seed, epoch, index).
#ifndef YOLO_DATA_AUGMENT_CLASSIFY_H
#define YOLO_DATA_AUGMENT_CLASSIFY_H

#include <stdbool.h>

#include "core/rng.h"
#include "data/image.h"

typedef struct {
    int imgsz;
    float scale_min;            // RandomResizedCrop scale range (scale_min, 1): 1 - scale
    float fliplr, flipud;       // flip probabilities
    bool randaugment;           // auto_augment=randaugment; false: ColorJitter from the hsv gains
    float hsv_h, hsv_s, hsv_v;  // ColorJitter(brightness=hsv_v, contrast=hsv_v, saturation=hsv_s, hue=hsv_h)
    float erasing;              // RandomErasing probability
} ClassifyAugment;

// Training: RandomResizedCrop(imgsz, (scale_min, 1), ratio 3/4..4/3, bilinear), horizontal then
// vertical flip, RandAugment (2 operations at magnitude 9 of 31) or ColorJitter, to floats in
// [0, 1] (CHW, imgsz x imgsz into dst), RandomErasing (scale 0.02..0.33, ratio 0.3..3.3, value 0).
// Draws: 40 for the crop, 2 flips, 4 RandAugment, 8 set aside for ColorJitter, 41 erasing: 95
// whichever of RandAugment and ColorJitter runs.
int classify_train_transform(const Image *src, const ClassifyAugment *p, RngCursor *rng, float *dst);

// Validation: the shorter side resized to imgsz (the longer to int(imgsz * long / short)), the
// centre imgsz x imgsz crop, to floats. `out` (empty or freed) receives the crop.
int classify_val_image(const Image *src, int imgsz, Image *out);
// Its geometry for a w x h image: the resized size (*rw x *rh) and where the crop starts in it
// (torchvision's CenterCrop: round((size - imgsz) / 2), half to even).
void classify_val_plan(int w, int h, int imgsz, int *rw, int *rh, int *left, int *top);
int classify_val_transform(const Image *src, int imgsz, float *dst);

// RandomResizedCrop's box (torchvision's get_params): up to 10 tries of an area fraction in
// (scale_min, 1) and a log-uniform aspect ratio in 3/4..4/3 that fit, else the centre crop of
// the whole image clamped to that ratio range. Draws: 40.
void classify_crop_box(int w, int h, float scale_min, RngCursor *rng, int *x, int *y, int *cw, int *ch);

// RandAugment's operations in torchvision's order, and their magnitudes at bin 9 of 31 for a
// w x h image (before the sign; TranslateX/Y in pixels as drawn, not yet truncated).
enum {
    RA_IDENTITY, RA_SHEAR_X, RA_SHEAR_Y, RA_TRANSLATE_X, RA_TRANSLATE_Y, RA_ROTATE, RA_BRIGHTNESS, RA_COLOR,
    RA_CONTRAST, RA_SHARPNESS, RA_POSTERIZE, RA_SOLARIZE, RA_AUTOCONTRAST, RA_EQUALIZE, RA_COUNT
};
const char *randaugment_name(int op);
bool randaugment_signed(int op);
double randaugment_magnitude(int op, int w, int h);
// One operation with a (signed) magnitude, in place.
int randaugment_apply(Image *img, int op, double magnitude);

// Writes img as CHW floats in [0, 1] (ToTensor's x / 255).
void classify_to_floats(const Image *img, float *dst);

#endif
