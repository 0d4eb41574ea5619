// One image as Ultralytics' predictor feeds it to a model and reads its boxes back: LetterBox
// with auto=True (scaled to fit imgsz, enlarging too, then padded with 114 only up to the next
// multiple of the stride on each side, centred), and scale_boxes from the input's pixels to the
// original image's (gain and padding derived from the two sizes), clipped to the image.
#ifndef YOLO_ENGINE_PREDICT_IMAGE_H
#define YOLO_ENGINE_PREDICT_IMAGE_H

#include "data/contour.h"
#include "data/image.h"

typedef struct {
    int w, h;       // the network input
    int nw, nh;     // the image inside it, resized
    int left, top;  // where that image starts (negative: it is cropped)
} PredictLetterbox;

// The letterbox of a w0 x h0 image for imgsz (a multiple of stride).
void predict_letterbox_plan(int w0, int h0, int imgsz, int stride, PredictLetterbox *lb);
// Classify instead (Ultralytics' classify_transforms, exactly as the classify validation loader
// runs it: data/augment_classify.h): the shorter side resized to imgsz with Pillow's antialiased
// bilinear filter, then torchvision's centre imgsz x imgsz crop (its offset rounded half to even).
void predict_center_crop_plan(int w0, int h0, int imgsz, PredictLetterbox *lb);
// Writes that crop of src as [3][imgsz][imgsz] floats in [0, 1] (RGB) into chw.
int predict_center_crop(const Image *src, int imgsz, float *chw);
// Writes src letterboxed (or cropped) by lb as [3][lb->h][lb->w] floats in [0, 1] (RGB) into chw.
int predict_letterbox(const Image *src, const PredictLetterbox *lb, float *chw);
// n boxes (x1, y1, x2, y2) in the pixels of an in_w x in_h input back to the w0 x h0 original.
void predict_scale_boxes(float *boxes, int n, int in_w, int in_h, int w0, int h0);
// n points (x, y) of an in_w x in_h grid over the input (a mask's) to the w0 x h0 original,
// normalised to [0, 1] by its width and height: Ultralytics' scale_coords with normalize=True (the
// padding not rounded, unlike boxes'; clipped to the image; float32 arithmetic).
void predict_scale_points(float *xy, int n, int in_w, int in_h, int w0, int h0);
// Ultralytics' Masks.xyn[0] of one mask [mh][mw] covering the input: its outer contours joined into
// one polygon (data/contour.h; c is scratch), scaled to the w0 x h0 image and normalised
// (predict_scale_points). *xy (capacity *cap points, grown with realloc) receives *n points as x,
// y pairs. -1 with a message when out of memory.
int predict_mask_polygon(Contours *c, const uint8_t *mask, int mw, int mh, int w0, int h0, float **xy, size_t *cap, int *n);
// The same mapping's parts: original = (input - pad) / gain.
void predict_input_mapping(int in_w, int in_h, int w0, int h0, double *gain, int *pad_x, int *pad_y);

#endif
