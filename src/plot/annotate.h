// Drawing results onto an image with cairo, in the manner of Ultralytics' Annotator: class-coloured
// box outlines, a label (class name and score) on a filled tag at the box's top-left corner, masks
// blended in the class colour, and blocks of text (a classifier's top 5, file names on mosaics).
// Fonts come from fontconfig (DejaVu Sans, as fonts-dejavu-core installs).
#ifndef YOLO_PLOT_ANNOTATE_H
#define YOLO_PLOT_ANNOTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/image.h"

// Ultralytics' 20-colour palette: class c is drawn in colour c % 20 (RGB).
void plot_class_color(int cls, uint8_t rgb[3]);
// The line width Ultralytics picks for an image: about 0.3% of the mean side, at least 2 pixels.
int plot_line_width(int w, int h);

typedef struct Annotator Annotator;

// Starts drawing on img (its pixels are copied into a cairo surface; annotator_end writes them
// back). line_width 0: plot_line_width of the image; font_px 0: the text size that goes with the
// line width (Ultralytics' OpenCV text at scale line_width / 3). NULL with a message when out of
// memory.
Annotator *annotator_begin(Image *img, int line_width, double font_px);
// Writes the drawing back into the image and frees the annotator. -1 with a message when cairo
// failed on the way (out of memory); the image then holds what was drawn before.
int annotator_end(Annotator *a);
int annotator_line_width(const Annotator *a);

// A box (x1, y1, x2, y2 in image pixels) outlined in `rgb`, and when label is not NULL or "",
// the label on a tag of that colour above the box (inside it when there is no room above),
// moved left to stay inside the image.
void annotate_box(Annotator *a, const float box[4], const uint8_t rgb[3], const char *label);

// A mask blended into the image: pixel (x, y) of the image is inside when the mask's value at
// (x * scale_x + offset_x, y * scale_y + offset_y) (pixel centres, nearest neighbour) is not 0.
// Only the image rectangle [x0, x1) x [y0, y1) is touched (a tile of a mosaic, or the whole image).
typedef struct {
    int w, h;
    const uint8_t *data; // [h][w]
    float scale_x, scale_y, offset_x, offset_y;
    int x0, y0, x1, y1;
} MaskLayer;
void annotate_mask(Annotator *a, const MaskLayer *m, const uint8_t rgb[3], float alpha);

// Lines of text from (x, y) (their top-left corner) in `rgb`; with `backdrop`, on a
// half-transparent dark box (a classifier's top 5).
void annotate_text(Annotator *a, double x, double y, const char *const *lines, int n, const uint8_t rgb[3], bool backdrop);

// An unfilled rectangle (mosaic tile borders).
void annotate_rect(Annotator *a, double x, double y, double w, double h, const uint8_t rgb[3], double width);

#endif
