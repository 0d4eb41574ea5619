// The C API (include/yolo/yolo.h) as a program uses it: argument errors with the command's
// messages, training twice (and resuming) in one process, predict's callback against the label
// files the command writes for the same images, and val's metrics against its metrics.json.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "scratch.h"
#include "test.h"
#include "yolo/yolo.h"

// Builds args from words (NULL-terminated); NULL after reporting a failure.
static yolo_args *args_of(const char *const *words) {
    yolo_args *a = yolo_args_create();
    int n = 0;
    while (words[n]) n++;
    if (a && yolo_args_parse(a, n, (char *const *)words) == YOLO_OK) return a;
    test_fail(__FILE__, __LINE__, "yolo_args_parse failed: %s", yolo_error());
    yolo_args_destroy(a);
    return NULL;
}

static bool value_is(const yolo_args *a, const char *key, const char *want) {
    char got[256] = "";
    return yolo_args_get(a, key, got, sizeof got) == YOLO_OK && !strcmp(got, want);
}

static bool message_has(const char *fragment) { return strstr(yolo_error(), fragment) != NULL; }

TEST(api_arguments_are_checked_with_the_commands_messages) {
    yolo_args *a = yolo_args_create();
    if (!a) return;
    EXPECT(yolo_args_set(a, "epochs", "5") == YOLO_OK && yolo_error()[0] == '\0');
    EXPECT(value_is(a, "epochs", "5"));
    // A bad key: the key, the closest valid ones (the fix); nothing kept.
    EXPECT(yolo_args_set(a, "epoch", "3") == YOLO_USAGE);
    EXPECT(message_has("'epoch' is not a valid YOLO argument. Similar arguments are i.e. ['epochs=100']"));
    // A bad value: the key, the value and the valid range; the earlier value stays.
    EXPECT(yolo_args_set(a, "fraction", "1.5") == YOLO_USAGE);
    EXPECT(message_has("'fraction=1.5' is an invalid value. Valid 'fraction' values are > 0.0 and <= 1.0."));
    EXPECT(yolo_args_set(a, "epochs", "ten") == YOLO_USAGE);
    EXPECT(message_has("'epochs=ten' is of invalid type str. 'epochs' must be an int (i.e. 'epochs=100')"));
    EXPECT(value_is(a, "epochs", "5") && value_is(a, "fraction", "1.0"));
    // key=value is one word: a key holding '=' is refused rather than split.
    EXPECT(yolo_args_set(a, "epochs=3", "4") == YOLO_USAGE && message_has("give the key and the value apart"));
    EXPECT(yolo_args_set(a, "epochs", NULL) == YOLO_USAGE && message_has("value is NULL"));
    EXPECT(yolo_args_get(a, "nope", (char[8]){0}, 8) == YOLO_USAGE && message_has("'nope' is not a key"));
    char small[1];
    EXPECT(yolo_args_get(a, "epochs", small, sizeof small) == YOLO_FAILED && message_has("needs 2 bytes"));

    // Command-line words: the '=' merges, a bare bool key, a deprecated key renamed with a
    // warning; a rejected word drops every word of that call.
    const char *words[] = {"segment", "train", "imgsz", "=", "320", "save_txt", "hide_labels=True"};
    EXPECT(yolo_args_parse(a, 7, (char *const *)words) == YOLO_OK);
    EXPECT(value_is(a, "imgsz", "320") && value_is(a, "save_txt", "True") && value_is(a, "show_labels", "False"));
    EXPECT(value_is(a, "model", "yolov8n-seg.yaml") && value_is(a, "task", "segment"));
    EXPECT(strstr(yolo_args_warnings(a), "'hide_labels' is deprecated"));
    const char *bad[] = {"epochs=7", "bogus=1"};
    EXPECT(yolo_args_parse(a, 2, (char *const *)bad) == YOLO_USAGE && message_has("'bogus' is not a valid YOLO argument"));
    EXPECT(value_is(a, "epochs", "5"));
    // A later value of a key wins, as on the command line.
    EXPECT(yolo_args_set(a, "imgsz", "64") == YOLO_OK && value_is(a, "imgsz", "64"));

    // The run functions refuse what the command refuses, before any work: the exit status of
    // a usage error and the message.
    yolo_args *gone = yolo_args_create();
    EXPECT(gone && yolo_args_set(gone, "resume", "/nonexistent/last.ckpt") == YOLO_OK);
    EXPECT(yolo_train(gone, NULL, 0) == YOLO_USAGE && message_has("/nonexistent/last.ckpt"));
    yolo_metrics m;
    m.n = 99;
    EXPECT(yolo_val(gone, &m) == YOLO_USAGE && m.n == 0 && message_has("'resume' is not an argument of val"));
    yolo_args *none = yolo_args_create();
    EXPECT(yolo_val(none, NULL) == YOLO_USAGE && message_has("val needs the model to validate: model="));
    EXPECT(yolo_predict(none, NULL, NULL) == YOLO_USAGE && message_has("predict needs a trained model"));
    const char *help[] = {"help"};
    EXPECT(yolo_args_parse(none, 1, (char *const *)help) == YOLO_OK);
    EXPECT(yolo_train(none, NULL, 0) == YOLO_USAGE && message_has("only yolo_run runs"));
    EXPECT(yolo_train(NULL, NULL, 0) == YOLO_USAGE && message_has("args is NULL"));
    EXPECT(yolo_checkpoint_report("/nonexistent/last.ckpt") == YOLO_FAILED && message_has("/nonexistent/last.ckpt"));
    EXPECT(!strcmp(yolo_version(), YOLO_VERSION));
    yolo_args_destroy(none);
    yolo_args_destroy(gone);
    yolo_args_destroy(a);
    yolo_args_destroy(NULL);
}

// A finished run's results.csv without the time column (the second), which differs between runs.
static bool results_without_time(const char *run_dir, char *out, size_t cap) {
    char path[YOLO_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/results.csv", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t o = 0;
    char line[4096];
    while (fgets(line, sizeof line, f) && o < cap) {
        char *first = strchr(line, ','), *second = first ? strchr(first + 1, ',') : NULL;
        if (!second) continue;
        *first = '\0';
        o += (size_t)snprintf(out + o, cap - o, "%s%s", line, second);
    }
    fclose(f);
    return o > 0 && o < cap;
}

static int rows(const char *run_dir) {
    char path[YOLO_PATH_MAX + 32], line[4096];
    snprintf(path, sizeof path, "%s/results.csv", run_dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n++;
    if (f) fclose(f);
    return n - 1; // the header
}

static void on_sigint(int sig) { (void)sig; }

TEST(api_trains_twice_in_one_process_and_resumes) {
    char dir[256], project[300], datasets[300];
    if (!scratch_make(dir, sizeof dir, "api-train")) return;
    snprintf(project, sizeof project, "project=%s/runs", dir);
    snprintf(datasets, sizeof datasets, "%s/datasets", dir);
    setenv("YOLO_DATASETS_DIR", datasets, 1);
    struct sigaction mine = {.sa_handler = on_sigint}, before, after;
    sigemptyset(&mine.sa_mask);
    sigaction(SIGINT, &mine, &before);

    const char *words[] = {"detect", "train", "data=shapes8.yaml", "epochs=1", "imgsz=64", "batch=4", "workers=0",
                           "plots=False", project, "name=twice", NULL};
    yolo_args *a = args_of(words);
    char first[YOLO_PATH_MAX] = "", second[YOLO_PATH_MAX] = "";
    EXPECT(a && yolo_train(a, first, sizeof first) == YOLO_OK);
    EXPECT(a && yolo_train(a, second, sizeof second) == YOLO_OK);
    // The second run is a run of its own, bit for bit the first (nothing left over in between),
    // and the program's own SIGINT handler is back after each.
    size_t n = strlen(first);
    EXPECT(n > 6 && !strcmp(first + n - 6, "/twice") && !strncmp(second, first, n) && !strcmp(second + n, "2"));
    static char csv_a[16384], csv_b[16384];
    EXPECT(results_without_time(first, csv_a, sizeof csv_a) && results_without_time(second, csv_b, sizeof csv_b));
    EXPECT(!strcmp(csv_a, csv_b));
    sigaction(SIGINT, NULL, &after);
    EXPECT(after.sa_handler == on_sigint);

    // Resume extends the second run by an epoch, in place.
    char last[YOLO_PATH_MAX + 32], model[YOLO_PATH_MAX + 64], resumed[YOLO_PATH_MAX] = "";
    snprintf(last, sizeof last, "%s/weights/last.ckpt", second);
    snprintf(model, sizeof model, "model=%s", last);
    const char *again[] = {"detect", "train", "resume", model, "epochs=2", NULL};
    yolo_args *r = args_of(again);
    EXPECT(r && yolo_train(r, resumed, sizeof resumed) == YOLO_OK);
    EXPECT(!strcmp(resumed, second) && rows(second) == 2 && rows(first) == 1);
    // Finished: resuming again is refused, naming the fix.
    EXPECT(r && yolo_train(r, resumed, sizeof resumed) == YOLO_USAGE && message_has("give a larger epochs="));

    yolo_args_destroy(r);
    yolo_args_destroy(a);
    sigaction(SIGINT, &before, NULL);
    unsetenv("YOLO_DATASETS_DIR");
    scratch_remove(dir);
}

// What the callback saw of each image.
enum { MAX_SEEN = 8, MAX_OBJECTS = 8 };
typedef struct {
    char path[512];
    int index, count, w, h, n;
    float boxes[MAX_OBJECTS][4], scores[MAX_OBJECTS];
    int classes[MAX_OBJECTS];
    bool names_ok, saved_nothing;
} SeenImage;
typedef struct {
    int calls, stop_after;
    SeenImage seen[MAX_SEEN];
} Seen;

static int collect(const yolo_prediction *p, void *ctx) {
    Seen *s = ctx;
    if (s->calls < MAX_SEEN) {
        SeenImage *e = &s->seen[s->calls];
        snprintf(e->path, sizeof e->path, "%s", p->path);
        e->index = p->index, e->count = p->count, e->w = p->width, e->h = p->height;
        e->n = p->n < MAX_OBJECTS ? p->n : MAX_OBJECTS;
        memcpy(e->boxes, p->boxes, sizeof(float) * 4 * (size_t)e->n);
        memcpy(e->scores, p->scores, sizeof(float) * (size_t)e->n);
        memcpy(e->classes, p->classes, sizeof(int) * (size_t)e->n);
        e->names_ok = p->nc == 5 && p->names && !strcmp(p->names[0], "circle") && !strcmp(p->names[4], "star");
        e->saved_nothing = p->run_dir && !p->run_dir[0] && !p->masks && p->n_top == 0;
    }
    s->calls++;
    return s->stop_after > 0 && s->calls >= s->stop_after;
}

// The callback's objects of one image against the label file the command wrote for it
// (class cx cy w h conf, normalised, as %g prints them: 6 significant digits).
static void compare_labels(const char *labels_dir, const Seen *s, int i) {
    const char *base = strrchr(s->seen[i].path, '/') + 1, *dot = strrchr(base, '.');
    char path[1024];
    snprintf(path, sizeof path, "%s/%.*s.txt", labels_dir, (int)(dot - base), base);
    FILE *f = fopen(path, "r");
    EXPECT(f != NULL);
    int d = 0, cls;
    float cx, cy, bw, bh, conf;
    while (f && fscanf(f, "%d %f %f %f %f %f", &cls, &cx, &cy, &bw, &bh, &conf) == 6) {
        if (d >= s->seen[i].n) {
            d++;
            continue;
        }
        const float *b = s->seen[i].boxes[d];
        float w0 = (float)s->seen[i].w, h0 = (float)s->seen[i].h;
        EXPECT(cls == s->seen[i].classes[d]);
        EXPECT_NEAR(cx, (b[0] + b[2]) / 2.0f / w0, 2e-6);
        EXPECT_NEAR(cy, (b[1] + b[3]) / 2.0f / h0, 2e-6);
        EXPECT_NEAR(bw, (b[2] - b[0]) / w0, 2e-6);
        EXPECT_NEAR(bh, (b[3] - b[1]) / h0, 2e-6);
        EXPECT_NEAR(conf, s->seen[i].scores[d], 2e-6);
        EXPECT(b[0] >= 0 && b[1] >= 0 && b[2] <= w0 && b[3] <= h0 && b[0] <= b[2] && b[1] <= b[3]);
        EXPECT(d == 0 || s->seen[i].scores[d] <= s->seen[i].scores[d - 1]);
        d++;
    }
    if (f) fclose(f);
    EXPECT(d == s->seen[i].n && d == 3);
}

// "key": number in metrics.json.
static double json_number(const char *json, const char *key) {
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    const char *at = strstr(json, quoted);
    return at ? strtod(at + strlen(quoted), NULL) : -1.0;
}

TEST(api_predict_callback_matches_the_commands_labels_and_val_its_metrics_json) {
    char dir[256], project[300], datasets[300];
    if (!scratch_make(dir, sizeof dir, "api-predict")) return;
    snprintf(project, sizeof project, "project=%s/runs", dir);
    snprintf(datasets, sizeof datasets, "%s/datasets", dir);
    setenv("YOLO_DATASETS_DIR", datasets, 1);
    const char *train[] = {"detect", "train", "data=shapes8.yaml", "epochs=1", "imgsz=64", "batch=4", "workers=0",
                           "plots=False", project, NULL};
    yolo_args *t = args_of(train);
    char run[YOLO_PATH_MAX] = "", model[YOLO_PATH_MAX + 64], source[400];
    EXPECT(t && yolo_train(t, run, sizeof run) == YOLO_OK);
    snprintf(model, sizeof model, "model=%s/weights/last.ckpt", run);
    snprintf(source, sizeof source, "source=%s/shapes8/images/val", datasets);

    // The command's way: label files with scores (save_txt save_conf), no images.
    const char *cli[] = {"detect", "predict", model, source, "conf=0", "max_det=3", "save=False", "save_txt", "save_conf",
                         "verbose=False", project, "name=cli", NULL};
    yolo_args *c = args_of(cli);
    EXPECT(c && yolo_run(c) == YOLO_OK);

    // The API's way: the same words without the files, through the callback.
    yolo_args *p = yolo_args_create();
    EXPECT(p && yolo_args_set(p, "model", model + 6) == YOLO_OK && yolo_args_set(p, "source", source + 7) == YOLO_OK);
    EXPECT(yolo_args_set(p, "conf", "0") == YOLO_OK && yolo_args_set(p, "max_det", "3") == YOLO_OK);
    EXPECT(yolo_args_set(p, "save", "False") == YOLO_OK && yolo_args_set(p, "verbose", "False") == YOLO_OK);
    Seen s = {0};
    EXPECT(yolo_predict(p, collect, &s) == YOLO_OK);
    EXPECT(s.calls == 4);
    char labels[400];
    snprintf(labels, sizeof labels, "%s/runs/cli/labels", dir);
    for (int i = 0; i < s.calls && i < MAX_SEEN; i++) {
        int w = 0, h = 0;
        EXPECT_OK(image_read_size(s.seen[i].path, &w, &h));
        EXPECT(s.seen[i].index == i && s.seen[i].count == 4 && s.seen[i].w == w && s.seen[i].h == h);
        EXPECT(s.seen[i].names_ok && s.seen[i].saved_nothing);
        compare_labels(labels, &s, i);
    }
    // A non-zero return stops after that image, and is no failure.
    Seen one = {.stop_after = 1};
    EXPECT(yolo_predict(p, collect, &one) == YOLO_OK && one.calls == 1);

    // val: the metrics metrics.json records, in the task's order, and the folder.
    yolo_args *v = yolo_args_create();
    EXPECT(v && yolo_args_set(v, "model", model + 6) == YOLO_OK && yolo_args_set(v, "plots", "False") == YOLO_OK);
    EXPECT(yolo_args_set(v, "project", project + 8) == YOLO_OK);
    yolo_metrics m;
    EXPECT(yolo_val(v, &m) == YOLO_OK);
    EXPECT(m.task && !strcmp(m.task, "detect") && m.n == 4 && !strcmp(m.names[3], "metrics/mAP50-95(B)"));
    char path[YOLO_PATH_MAX + 32], json[8192] = "";
    snprintf(path, sizeof path, "%s/metrics.json", m.run_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        json[fread(json, 1, sizeof json - 1, f)] = '\0';
        fclose(f);
    }
    for (int i = 0; i < m.n && i < YOLO_MAX_METRICS; i++) EXPECT_NEAR(m.values[i], json_number(json, m.names[i]), 1e-12);
    EXPECT_NEAR(m.fitness, json_number(json, "fitness"), 1e-12);
    EXPECT_NEAR(m.fitness, 0.1 * m.values[2] + 0.9 * m.values[3], 1e-12);

    yolo_args_destroy(v);
    yolo_args_destroy(p);
    yolo_args_destroy(c);
    yolo_args_destroy(t);
    unsetenv("YOLO_DATASETS_DIR");
    scratch_remove(dir);
}

TEST(api_mask_at_maps_image_pixels_to_mask_cells) {
    // A 4x2 mask grid over a 40x20 image letterboxed into a 40x24 input (gain 1, 2 rows of
    // padding at the top): cells are 10 input pixels wide and 12 high.
    static const uint8_t masks[2 * 4 * 2] = {
        1, 0, 0, 0, //
        0, 0, 0, 1, // object 0: top-left and bottom-right cells
        0, 1, 1, 0, //
        0, 0, 0, 0, // object 1: the top middle cells
    };
    yolo_prediction p = {.width = 40, .height = 20, .n = 2, .mask_w = 4, .mask_h = 2, .masks = masks,
                         .mask_scale_x = 4.0f / 40.0f, .mask_scale_y = 2.0f / 24.0f, .mask_offset_x = 0.0f,
                         .mask_offset_y = 2.0f * 2.0f / 24.0f};
    EXPECT(yolo_mask_at(&p, 0, 0, 0) == 1 && yolo_mask_at(&p, 0, 9, 9) == 1);
    // Image row 10 is input row 12: the second row of cells.
    EXPECT(yolo_mask_at(&p, 0, 9, 10) == 0 && yolo_mask_at(&p, 0, 39, 19) == 1 && yolo_mask_at(&p, 0, 30, 10) == 1);
    EXPECT(yolo_mask_at(&p, 1, 10, 0) == 1 && yolo_mask_at(&p, 1, 29, 9) == 1 && yolo_mask_at(&p, 1, 30, 9) == 0);
    // Outside the image, another object, no masks: 0.
    EXPECT(yolo_mask_at(&p, 0, -1, 0) == 0 && yolo_mask_at(&p, 0, 40, 19) == 0 && yolo_mask_at(&p, 2, 0, 0) == 0);
    p.masks = NULL;
    EXPECT(yolo_mask_at(&p, 0, 0, 0) == 0 && yolo_mask_at(NULL, 0, 0, 0) == 0);
}
