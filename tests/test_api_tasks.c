// The C API's predict callback for the segment and classify tasks (tests/test_api.c has detect's):
// a segment model's masks arrive through yolo_mask_at inside each object's box, one object per
// line of the command's label file for the same image; a classifier's top 5 arrive as the
// command's "score name" lines.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "test.h"
#include "yolo/yolo.h"

enum { MAX_IMAGES = 8, MAX_OBJECTS = 8, LINE_CAP = 64 };

typedef struct {
    char path[512];
    int n, n_top;
    int classes[MAX_OBJECTS];
    int mask_cells[MAX_OBJECTS];  // set cells of its mask (the padding around the image included)
    int mask_pixels[MAX_OBJECTS]; // image pixels yolo_mask_at puts in the object
    int outside_box[MAX_OBJECTS]; // of those, how many lie beyond the box and its margin
    bool grid_ok;                 // a mask grid whenever there are objects, none for classify
    int top_classes[YOLO_TOP_K];
    float top_scores[YOLO_TOP_K];
    char names[YOLO_TOP_K][LINE_CAP];
} Seen;

typedef struct {
    int calls;
    Seen seen[MAX_IMAGES];
} Collected;

static int collect(const yolo_prediction *p, void *ctx) {
    Collected *c = ctx;
    if (c->calls >= MAX_IMAGES) return 1;
    Seen *s = &c->seen[c->calls++];
    snprintf(s->path, sizeof s->path, "%s", p->path);
    s->n = p->n < MAX_OBJECTS ? p->n : MAX_OBJECTS;
    s->grid_ok = p->n > 0 ? p->masks && p->mask_w > 0 && p->mask_h > 0 : p->n_top == 0 || !p->masks;
    for (int i = 0; i < s->n; i++) {
        s->classes[i] = p->classes[i];
        for (size_t q = 0; p->masks && q < (size_t)p->mask_w * (size_t)p->mask_h; q++)
            s->mask_cells[i] += p->masks[(size_t)i * (size_t)p->mask_w * (size_t)p->mask_h + q] != 0;
        // The mask is cut to the box on the prototype grid (cells of 4 input pixels from the
        // first whose index reaches the box's edge), then resized bilinearly to the input, which
        // spreads a cell 2 pixels left and 5 right of its own: under 6 input pixels past the box,
        // 6 / gain image pixels (the grid is the input's, so mask_scale_x is the gain), and one
        // for the nearest cell.
        const float *b = p->boxes + 4 * i;
        double margin = 6.0 / p->mask_scale_x + 1.0;
        for (int y = 0; y < p->height; y++)
            for (int x = 0; x < p->width; x++) {
                if (!yolo_mask_at(p, i, x, y)) continue;
                s->mask_pixels[i]++;
                s->outside_box[i] += x + 0.5 < b[0] - margin || x + 0.5 > b[2] + margin || y + 0.5 < b[1] - margin ||
                                     y + 0.5 > b[3] + margin;
            }
    }
    s->n_top = p->n_top;
    for (int k = 0; k < p->n_top; k++) {
        s->top_classes[k] = p->top_classes[k];
        s->top_scores[k] = p->top_scores[k];
        snprintf(s->names[k], LINE_CAP, "%s", p->names[p->top_classes[k]]);
    }
    return 0;
}

static yolo_args *args_of(const char *const *words) {
    yolo_args *a = yolo_args_create();
    int n = 0;
    while (words[n]) n++;
    if (a && yolo_args_parse(a, n, (char *const *)words) == YOLO_OK) return a;
    test_fail(__FILE__, __LINE__, "yolo_args_parse failed: %s", yolo_error());
    yolo_args_destroy(a);
    return NULL;
}

// Trains a 1-epoch model of the task; model=<its last.ckpt> into `model`.
static bool train(const char *task, const char *data, const char *imgsz, const char *project, char *model, size_t cap) {
    const char *words[] = {task, "train", data, "epochs=1", imgsz, "batch=4", "workers=0", "plots=False", project, NULL};
    yolo_args *t = args_of(words);
    char run[YOLO_PATH_MAX] = "";
    bool ok = t && yolo_train(t, run, sizeof run) == YOLO_OK;
    if (!ok) test_fail(__FILE__, __LINE__, "%s training failed: %s", task, yolo_error());
    snprintf(model, cap, "model=%s/weights/last.ckpt", run);
    yolo_args_destroy(t);
    return ok;
}

// The command's predict with save_txt into <project>/<name>, then the API's through the callback.
static bool predict_both(const char *task, const char *model, const char *source, const char *project, const char *name,
                         Collected *c) {
    const char *cli[] = {task, "predict", model, source, "conf=0", "max_det=5", "save=False", "save_txt", "verbose=False",
                         project, name, NULL};
    const char *api[] = {task, "predict", model, source, "conf=0", "max_det=5", "save=False", "verbose=False", NULL};
    yolo_args *a = args_of(cli), *b = args_of(api);
    bool ok = a && b && yolo_run(a) == YOLO_OK && yolo_predict(b, collect, c) == YOLO_OK;
    if (!ok) test_fail(__FILE__, __LINE__, "%s predict failed: %s", task, yolo_error());
    yolo_args_destroy(a);
    yolo_args_destroy(b);
    return ok;
}

// The lines of <labels>/<stem of path>.txt (0 when there is no file: an image without results).
static int read_lines(const char *labels, const char *path, char lines[][LINE_CAP], int max) {
    const char *base = strrchr(path, '/') + 1, *dot = strrchr(base, '.');
    char file[1024], line[1 << 16];
    snprintf(file, sizeof file, "%s/%.*s.txt", labels, (int)(dot - base), base);
    FILE *f = fopen(file, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (n < max) { // the start of the line is enough: a polygon's class, a classifier's whole line
            size_t len = strlen(line) < LINE_CAP - 1 ? strlen(line) : LINE_CAP - 1;
            memcpy(lines[n], line, len);
            lines[n][len] = '\0';
        }
        n++;
    }
    if (f) fclose(f);
    return n;
}

TEST(api_predict_callback_carries_masks_and_top_classes) {
    char dir[256], project[300], datasets[300], model[YOLO_PATH_MAX + 64], labels[400];
    if (!scratch_make(dir, sizeof dir, "api-tasks")) return;
    snprintf(project, sizeof project, "project=%s/runs", dir);
    snprintf(datasets, sizeof datasets, "%s/datasets", dir);
    setenv("YOLO_DATASETS_DIR", datasets, 1);
    char lines[MAX_OBJECTS][LINE_CAP];

    // Segment: every object's mask has pixels, inside its box; the objects are the label file's.
    char source[400];
    snprintf(source, sizeof source, "source=%s/shapes8-seg/images/val", datasets);
    Collected seg = {0};
    if (train("segment", "data=shapes8-seg.yaml", "imgsz=64", project, model, sizeof model) &&
        predict_both("segment", model, source, project, "name=seg", &seg)) {
        EXPECT(seg.calls == 4);
        snprintf(labels, sizeof labels, "%s/runs/seg/labels", dir);
        int objects = 0, pixels = 0;
        for (int i = 0; i < seg.calls; i++) {
            const Seen *s = &seg.seen[i];
            EXPECT(s->grid_ok && s->n_top == 0);
            int n = read_lines(labels, s->path, lines, MAX_OBJECTS);
            if (n != s->n) test_fail(__FILE__, __LINE__, "%s: %d objects, %d label lines", s->path, s->n, n);
            for (int d = 0; d < s->n && d < n; d++) {
                EXPECT(atoi(lines[d]) == s->classes[d]);
                // Objects with empty masks are dropped (a mask may lie in the letterbox's padding
                // alone, though, and cover no pixel of the image).
                if (s->mask_cells[d] == 0 || s->outside_box[d] > 0)
                    test_fail(__FILE__, __LINE__, "%s object %d: %d mask cells, %d of its %d image pixels outside its box",
                              s->path, d, s->mask_cells[d], s->outside_box[d], s->mask_pixels[d]);
                pixels += s->mask_pixels[d];
            }
            objects += s->n;
        }
        EXPECT(objects > 0 && pixels > 0);
    }

    // Classify: the top 5, distinct and best first, are the label file's "score name" lines.
    snprintf(source, sizeof source, "source=%s/shapes8-cls/val/*/*", datasets);
    Collected cls = {0};
    if (train("classify", "data=shapes8-cls", "imgsz=32", project, model, sizeof model) &&
        predict_both("classify", model, source, project, "name=cls", &cls)) {
        EXPECT(cls.calls == 5);
        snprintf(labels, sizeof labels, "%s/runs/cls/labels", dir);
        for (int i = 0; i < cls.calls; i++) {
            const Seen *s = &cls.seen[i];
            EXPECT(s->n == 0 && s->n_top == 5 && s->grid_ok);
            int n = read_lines(labels, s->path, lines, MAX_OBJECTS);
            EXPECT(n == 5);
            double sum = 0.0;
            for (int k = 0; k < s->n_top && k < n; k++) {
                char want[LINE_CAP];
                snprintf(want, sizeof want, "%.2f %s\n", (double)s->top_scores[k], s->names[k]);
                EXPECT(!strcmp(lines[k], want));
                EXPECT(k == 0 || (s->top_scores[k] <= s->top_scores[k - 1] && s->top_classes[k] != s->top_classes[k - 1]));
                sum += s->top_scores[k];
            }
            EXPECT_NEAR(sum, 1.0, 1e-5); // 5 classes: the top 5 are all of the softmax
        }
    }
    unsetenv("YOLO_DATASETS_DIR");
    scratch_remove(dir);
}
