#include "engine/predict_mode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/status.h"
#include "engine/evaluate.h"
#include "engine/predict_image.h"
#include "engine/run_dir.h"
#include "plot/annotate.h"

enum { PREDICT_JPEG_QUALITY = 95 }; // OpenCV's imwrite default, which Ultralytics saves with

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const TaskImpl *task;
    void *predictor;
    EvalGraphs graphs;
    float *boxes; // the current image's boxes in its own pixels
    int boxes_cap;
    int *counts;  // [nc] objects per class in the current image
    double pre, infer, post;
    int seen, labelled;
    int last_w, last_h;
    // save_txt of masks: the current mask's contours and the polygon they make.
    Contours contours;
    float *polygon;
    size_t polygon_cap;
} Predictor;

static void release(Predictor *p) {
    if (p->predictor) p->task->predictor_destroy(p->predictor);
    eval_graphs_free(&p->graphs);
    free(p->boxes);
    free(p->counts);
    contours_free(&p->contours);
    free(p->polygon);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// "name" without its last suffix.
static void stem(const char *path, char *out, size_t cap) {
    const char *base = base_name(path), *dot = strrchr(base, '.');
    snprintf(out, cap, "%.*s", dot && dot != base ? (int)(dot - base) : (int)strlen(base), base);
}

// <dir>/<sub><stem of path><ext>, or -1 when it does not fit.
static int output_path(const char *dir, const char *sub, const char *path, const char *ext, char *out, size_t cap) {
    char name[1024];
    stem(path, name, sizeof name);
    if ((size_t)snprintf(out, cap, "%s/%s%s%s", dir, sub, name, ext) >= cap)
        return yolo_fail("the output path for %s in %s is too long", path, dir);
    return 0;
}

static const char *class_name(const InferenceModel *im, int c, char *buf, size_t cap) {
    if (im->names && c >= 0 && c < im->nc) return im->names[c];
    snprintf(buf, cap, "%d", c);
    return buf;
}

// Ultralytics' Results.verbose(): "2 circles, 1 square, " in class order, or "(no detections), ";
// a classifier's top 5 as "name 0.92, ...".
static void describe(const Predictor *p, const InferenceModel *im, const Prediction *r, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    char buf[16];
    if (r->n_top > 0) {
        for (int k = 0; k < r->n_top && o < cap; k++)
            o += (size_t)snprintf(out + o, cap - o, "%s %.2f, ", class_name(im, r->top_classes[k], buf, sizeof buf),
                                  (double)r->top_scores[k]);
        return;
    }
    if (r->n == 0) {
        snprintf(out, cap, "(no detections), ");
        return;
    }
    for (int c = 0; c < im->nc && o < cap; c++)
        if (p->counts[c] > 0)
            o += (size_t)snprintf(out + o, cap - o, "%d %s%s, ", p->counts[c], class_name(im, c, buf, sizeof buf),
                                  p->counts[c] > 1 ? "s" : "");
}

// Ultralytics' segment label: the class, then the polygon of object d's mask (Masks.xyn: its outer
// contours joined into one, scaled from the mask's grid to the image and normalised).
static int write_polygon(FILE *f, Predictor *p, const Prediction *r, int d, int w0, int h0) {
    const uint8_t *mask = r->masks + (size_t)d * (size_t)r->mask_w * (size_t)r->mask_h;
    int n = 0;
    TRY(predict_mask_polygon(&p->contours, mask, r->mask_w, r->mask_h, w0, h0, &p->polygon, &p->polygon_cap, &n));
    fprintf(f, "%d", r->classes[d]);
    for (int i = 0; i < 2 * n; i++) fprintf(f, " %g", (double)p->polygon[i]);
    return 0;
}

static int write_labels(const char *dir, const char *path, const PredictRunOptions *o, const InferenceModel *im,
                        Predictor *p, const Prediction *r, int w0, int h0) {
    if (r->n == 0 && r->n_top == 0) return 0; // Ultralytics writes no file for an image without results
    char file[4096];
    TRY(output_path(dir, "labels/", path, ".txt", file, sizeof file));
    FILE *f = fopen(file, "w");
    if (!f) return yolo_fail("cannot create %s: %s", file, strerror(errno));
    char buf[16];
    int rc = 0;
    for (int k = 0; k < r->n_top; k++)
        fprintf(f, "%.2f %s\n", (double)r->top_scores[k], class_name(im, r->top_classes[k], buf, sizeof buf));
    for (int d = 0; rc == 0 && d < r->n; d++) {
        if (r->masks) {
            rc = write_polygon(f, p, r, d, w0, h0);
        } else {
            const float *b = &p->boxes[4 * d];
            // xywhn: the box's centre and size over the image's width and height, in float32.
            float cx = (b[0] + b[2]) / 2.0f / (float)w0, cy = (b[1] + b[3]) / 2.0f / (float)h0;
            float bw = (b[2] - b[0]) / (float)w0, bh = (b[3] - b[1]) / (float)h0;
            fprintf(f, "%d %g %g %g %g", r->classes[d], (double)cx, (double)cy, (double)bw, (double)bh);
        }
        if (o->save_conf) fprintf(f, " %g", (double)r->scores[d]);
        fputc('\n', f);
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (rc != 0) return yolo_fail("%s", file);
    return ok ? 0 : yolo_fail("%s: write error (%s)", file, strerror(errno));
}

// Draws the result on the original image (masks, then boxes from the lowest score up, so the best
// is on top; a classifier's top 5 as text) and saves it as <dir>/<stem>.jpg.
static int save_image(const char *dir, const char *path, Image *img, const PredictRunOptions *o, const InferenceModel *im,
                      const Predictor *p, const Prediction *r, int in_w, int in_h) {
    double font_px = 0.0;
    // Classification text as Ultralytics draws it with PIL: 3.5% of the mean side, at least 12.
    if (r->n_top > 0) font_px = fmax(nearbyint((img->w + img->h) / 2.0 * 0.035), 12.0);
    Annotator *a = annotator_begin(img, o->line_width, font_px);
    if (!a) return -1;
    if (r->masks && r->n > 0) {
        double gain;
        int pad_x, pad_y;
        predict_input_mapping(in_w, in_h, img->w, img->h, &gain, &pad_x, &pad_y);
        for (int d = 0; d < r->n; d++) {
            uint8_t rgb[3];
            plot_class_color(r->classes[d], rgb);
            float sx = (float)r->mask_w / (float)in_w, sy = (float)r->mask_h / (float)in_h;
            MaskLayer m = {.w = r->mask_w, .h = r->mask_h,
                           .data = r->masks + (size_t)d * (size_t)r->mask_w * (size_t)r->mask_h,
                           .scale_x = (float)gain * sx, .scale_y = (float)gain * sy, .offset_x = (float)pad_x * sx,
                           .offset_y = (float)pad_y * sy, .x1 = img->w, .y1 = img->h};
            annotate_mask(a, &m, rgb, 0.5f);
        }
    }
    char buf[16];
    for (int d = r->n - 1; d >= 0; d--) {
        char label[160] = "";
        const char *name = class_name(im, r->classes[d], buf, sizeof buf);
        if (o->show_labels && o->show_conf) snprintf(label, sizeof label, "%s %.2f", name, (double)r->scores[d]);
        else if (o->show_labels) snprintf(label, sizeof label, "%s", name);
        uint8_t rgb[3];
        plot_class_color(r->classes[d], rgb);
        annotate_box(a, &p->boxes[4 * d], rgb, label);
    }
    if (r->n_top > 0) {
        char lines[PREDICT_TOP_K][160];
        const char *text[PREDICT_TOP_K];
        for (int k = 0; k < r->n_top; k++) {
            // Ultralytics joins the lines with ",\n": a comma after each but the last.
            snprintf(lines[k], sizeof lines[k], "%s %.2f%s", class_name(im, r->top_classes[k], buf, sizeof buf),
                     (double)r->top_scores[k], k + 1 < r->n_top ? "," : "");
            text[k] = lines[k];
        }
        double x = nearbyint(img->h * 0.03);
        static const uint8_t WHITE[3] = {255, 255, 255};
        annotate_text(a, x, x, text, r->n_top, WHITE, true);
    }
    TRY(annotator_end(a));
    char file[4096];
    TRY(output_path(dir, "", path, ".jpg", file, sizeof file));
    return image_write_jpeg(file, img, PREDICT_JPEG_QUALITY);
}

// 0 done, 1 the callback asked to stop here, -1 failed.
static int predict_one(Predictor *p, const PredictRunOptions *o, InferenceModel *im, const char *path, int index, int n) {
    Image img = {0};
    TRY(image_read(path, &img));
    PredictLetterbox lb;
    if (o->task == TASK_CLASSIFY) predict_center_crop_plan(img.w, img.h, o->imgsz, &lb);
    else predict_letterbox_plan(img.w, img.h, o->imgsz, im->m.strides[im->m.n_levels - 1], &lb);
    // A new input shape builds its graph first, outside the timings (Ultralytics' warm-up).
    EvalGraph *v = eval_graph_for(&p->graphs, lb.h, lb.w, im->g->params.base, 1);
    int rc = v ? graph_set_batch(v->g, 1) : -1;
    double t0 = seconds();
    float *input = rc == 0 ? v->g->values[v->m.input].data.data : NULL;
    if (rc == 0) rc = o->task == TASK_CLASSIFY ? predict_center_crop(&img, o->imgsz, input) : predict_letterbox(&img, &lb, input);
    double t1 = seconds();
    if (rc == 0) rc = graph_forward(v->g);
    double t2 = seconds();
    Prediction r = {0};
    if (rc == 0) rc = p->task->predict(p->predictor, v->g, &v->m, 0, &r);
    if (rc == 0 && r.n > p->boxes_cap) {
        free(p->boxes);
        p->boxes = malloc(sizeof *p->boxes * 4 * (size_t)r.n);
        p->boxes_cap = p->boxes ? r.n : 0;
        if (!p->boxes) rc = yolo_fail("out of memory for %d boxes", r.n);
    }
    if (rc == 0) {
        if (r.n > 0) memcpy(p->boxes, r.boxes, sizeof *p->boxes * 4 * (size_t)r.n);
        predict_scale_boxes(p->boxes, r.n, lb.w, lb.h, img.w, img.h);
        memset(p->counts, 0, sizeof *p->counts * (size_t)im->nc);
        for (int d = 0; d < r.n; d++)
            if (r.classes[d] >= 0 && r.classes[d] < im->nc) p->counts[r.classes[d]]++;
    }
    double t3 = seconds();
    if (rc == 0) {
        p->pre += t1 - t0;
        p->infer += t2 - t1;
        p->post += t3 - t2;
        p->seen++;
        p->last_w = lb.w;
        p->last_h = lb.h;
        if (o->verbose) {
            char text[2048];
            describe(p, im, &r, text, sizeof text);
            printf("image %d/%d %s: %dx%d %s%.1fms\n", index + 1, n, path, lb.h, lb.w, text, 1e3 * (t2 - t1));
            fflush(stdout); // a line per image as it is done, also into a pipe or a log
        }
    }
    if (rc == 0 && o->save_txt) {
        rc = write_labels(o->run_dir, path, o, im, p, &r, img.w, img.h);
        p->labelled += rc == 0 && (r.n > 0 || r.n_top > 0);
    }
    if (rc == 0 && o->save) rc = save_image(o->run_dir, path, &img, o, im, p, &r, lb.w, lb.h);
    if (rc == 0 && o->on_image) {
        PredictedImage done = {.path = path, .index = index, .count = n, .w = img.w, .h = img.h, .r = &r,
                               .boxes = p->boxes, .in_w = lb.w, .in_h = lb.h, .pre = t1 - t0, .infer = t2 - t1,
                               .post = t3 - t2, .run_dir = o->run_dir, .nc = im->nc, .names = im->names};
        predict_input_mapping(lb.w, lb.h, img.w, img.h, &done.gain, &done.pad_x, &done.pad_y);
        rc = o->on_image(o->on_image_ctx, &done);
    }
    image_free(&img);
    return rc;
}

static int check_options(const PredictRunOptions *o, const InferenceModel *im) {
    for (int i = 0; i < o->keep.n_classes; i++)
        if (o->keep.classes[i] < 0 || o->keep.classes[i] >= im->nc)
            return yolo_fail("classes: %d is not a class of %s, which has %d (0 to %d)", o->keep.classes[i], im->path,
                             im->nc, im->nc - 1);
    return 0;
}

static int run(Predictor *p, PredictRunOptions *o, InferenceModel *im, const SourceList *src) {
    p->task = task_impl(o->task);
    if (!p->task || !p->task->predict)
        return yolo_fail("predict is not available for the %s task in this build yet",
                         o->task == TASK_SEGMENT ? "segment" : o->task == TASK_CLASSIFY ? "classify" : "detect");
    TRY(check_options(o, im));
    // Unreadable files stop the run before anything is written.
    for (int i = 0; i < src->n; i++) {
        int w, h;
        TRY(image_read_size(src->paths[i], &w, &h));
    }
    TRY(inference_model_build(im, o->imgsz, o->threads, 0));
    p->predictor = p->task->predictor_create(&im->m, &o->keep);
    p->counts = calloc((size_t)im->nc, sizeof *p->counts);
    if (!p->predictor || !p->counts) return yolo_fail("cannot set up the %s predictor", p->task->name);
    eval_graphs_init(&p->graphs, im->backend, &im->def, im->nc, 1, o->imgsz, im->g->params.size);
    if (o->save || o->save_txt) {
        TRY(run_dir_new(o->project, p->task->name, o->name, "predict", o->exist_ok, o->run_dir, sizeof o->run_dir));
        char labels[4200];
        snprintf(labels, sizeof labels, "%s/labels", o->run_dir);
        if (o->save_txt && mkdir(labels, 0755) != 0 && errno != EEXIST)
            return yolo_fail("cannot create %s: %s", labels, strerror(errno));
    }
    for (int i = 0, rc = 0; i < src->n && rc == 0; i++) {
        rc = predict_one(p, o, im, src->paths[i], i, src->n); // 1: the callback stopped the run
        TRY_ID(rc);
    }
    double n = p->seen > 0 ? p->seen : 1;
    if (o->verbose)
        printf("Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape (1, 3, %d, %d)\n",
               1e3 * p->pre / n, 1e3 * p->infer / n, 1e3 * p->post / n, p->last_h, p->last_w);
    if (o->run_dir[0]) {
        printf("Results saved to %s\n", o->run_dir);
        if (o->save_txt) printf("%d label%s saved to %s/labels\n", p->labelled, p->labelled == 1 ? "" : "s", o->run_dir);
    }
    return 0;
}

int predict_run(PredictRunOptions *o, InferenceModel *im, const SourceList *src) {
    Predictor p = {0};
    o->run_dir[0] = '\0';
    int rc = run(&p, o, im, src);
    release(&p);
    return rc;
}
