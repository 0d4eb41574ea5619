// Dataset YAMLs (names, roots, split forms, errors), split scans (counts, warnings, the summary
// line, fingerprints), the label cache (reuse, invalidation, damaged files) and classify folders.
// Every test works in its own mkdtemp folder and removes it.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "data/dataset.h"
#include "data/image.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

enum { P = DATASET_PATH_CAP };

// snprintf that fails the test when the text does not fit (which -Wformat-truncation wants).
#define FORMAT(buf, cap, ...) EXPECT(snprintf((buf), (cap), __VA_ARGS__) < (int)(cap))

static void make_dirs(const char *path) {
    char buf[P];
    FORMAT(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
    mkdir(buf, 0755);
}

static void make_parent(const char *path) {
    char dir[P];
    FORMAT(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    make_dirs(dir);
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    make_parent(path);
    if (!test_file_write(path, bytes, n)) test_fail(__FILE__, __LINE__, "cannot write %s", path);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }

static void write_image(const char *path, int w, int h, int seed) {
    make_parent(path);
    Image img;
    EXPECT_OK(image_alloc(&img, w, h));
    if (!img.rgb) return;
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++) img.rgb[i] = (uint8_t)(i * 7 + (size_t)seed);
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".jpg")) EXPECT_OK(image_write_jpeg(path, &img, 90));
    else EXPECT_OK(image_write_png(path, &img));
    image_free(&img);
}


// stdout and stderr of a call, through a file, so warnings and the summary can be checked and
// do not clutter the test report.
typedef struct {
    int out, err;
    char path[P];
} Capture;

static void capture_start(Capture *c, const char *dir) {
    fflush(stdout);
    fflush(stderr);
    FORMAT(c->path, sizeof c->path, "%s/captured.txt", dir);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    c->out = dup(1);
    c->err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static char *capture_stop(Capture *c) {
    fflush(stdout);
    fflush(stderr);
    dup2(c->out, 1);
    dup2(c->err, 2);
    close(c->out);
    close(c->err);
    char *text = test_file_read(c->path, NULL);
    unlink(c->path);
    return text ? text : calloc(1, 1);
}

static int count_lines_with(const char *text, const char *fragment) {
    int n = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[2 * P];
        FORMAT(buf, sizeof buf, "%.*s", (int)len, line);
        n += strstr(buf, fragment) != NULL;
        line = end ? end + 1 : NULL;
    }
    return n;
}

// Scans with output captured; returns the scan's status and the output in *text.
static int scan_quietly(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, const char *dir, char **text) {
    Capture c;
    capture_start(&c, dir);
    int rc = dataset_scan(cfg, split, out);
    char *t = capture_stop(&c);
    if (text) *text = t;
    else free(t);
    return rc;
}

static int load_yaml(const char *path, const char *text, const char *datasets, DatasetConfig *cfg) {
    write_text(path, text);
    return dataset_config_load(path, datasets, false, cfg);
}

static void path_in(char *out, const char *dir, const char *rel) { FORMAT(out, P, "%s/%s", dir, rel); }

// ---------------------------------------------------------------------------------------------

TEST(dataset_label_path_for) {
    char out[P];
    EXPECT_OK(label_path_for("ds/images/train/a.jpg", out, sizeof out));
    EXPECT(!strcmp(out, "ds/labels/train/a.txt"));
    EXPECT_OK(label_path_for("/x/images/y/images/z/b.png", out, sizeof out)); // the last one
    EXPECT(!strcmp(out, "/x/images/y/labels/z/b.txt"));
    EXPECT_OK(label_path_for("ds/train/a.jpeg", out, sizeof out)); // no images/: beside the image
    EXPECT(!strcmp(out, "ds/train/a.txt"));
    EXPECT_OK(label_path_for("my.data/images/a", out, sizeof out)); // only a dot in the name counts
    EXPECT(!strcmp(out, "my.data/labels/a.txt"));
    EXPECT_OK(label_path_for("ds/images/a.b.PNG", out, sizeof out));
    EXPECT(!strcmp(out, "ds/labels/a.b.txt"));
    EXPECT_FAILS_WITH(label_path_for("ds/images/train/a.jpg", out, 10), "too long");
}

TEST(dataset_yaml_names_list_map_and_nc) {
    char dir[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    path_in(yaml, dir, "d.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: a\nval: b\nnames: [cat, dog]\n", NULL, &cfg));
    EXPECT(cfg.nc == 2 && !strcmp(cfg.names[0], "cat") && !strcmp(cfg.names[1], "dog"));
    dataset_config_free(&cfg);

    // A map in any order, string keys converted.
    EXPECT_OK(load_yaml(yaml, "train: a\nval: b\nnames:\n  '1': dog\n  0: cat\nnc: 2\n", NULL, &cfg));
    EXPECT(cfg.nc == 2 && !strcmp(cfg.names[0], "cat") && !strcmp(cfg.names[1], "dog"));
    dataset_config_free(&cfg);

    EXPECT_OK(load_yaml(yaml, "train: a\nval: b\nnc: 3\n", NULL, &cfg));
    EXPECT(cfg.nc == 3 && !strcmp(cfg.names[0], "class_0") && !strcmp(cfg.names[2], "class_2"));
    dataset_config_free(&cfg);

    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\nnames: [a, b]\nnc: 3\n", NULL, &cfg),
                      "`names` has 2 entries but `nc` is 3");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\nnames: {0: a, 2: b}\n", NULL, &cfg),
                      "key 2 is not a class index from 0 to 1");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\nnames: {0: a, '0': b}\n", NULL, &cfg), "class 0 is named twice");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\nnames: cat\n", NULL, &cfg), "`names` must be a list");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\n", NULL, &cfg), "neither `names` nor `nc` is set");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: a\nval: b\nnc: 0\n", NULL, &cfg), "`nc: 0` must be an integer from 1");
    EXPECT(cfg.names == NULL && cfg.text == NULL); // a failed load leaves nothing to free
    scratch_remove(dir);
}

TEST(dataset_yaml_root_and_datasets_dir) {
    char dir[P], yaml[P], want[P], cwd[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    DatasetConfig cfg;

    // No `path`: the YAML's own folder, absolute even when the YAML was named relatively.
    path_in(yaml, dir, "cfgs/x.yaml");
    const char *text = "train: images/train\nval: images/val  # comment\ntest:   # optional\nnames: [a]\n";
    EXPECT_OK(load_yaml(yaml, text, NULL, &cfg));
    path_in(want, dir, "cfgs");
    EXPECT(!strcmp(cfg.root, want));
    path_in(want, dir, "cfgs/images/val");
    EXPECT(cfg.n_sources[SPLIT_VAL] == 1 && !strcmp(cfg.sources[SPLIT_VAL][0], want));
    EXPECT(cfg.n_sources[SPLIT_TEST] == 0);
    EXPECT(cfg.text && !strcmp(cfg.text, text)); // verbatim, comments included
    EXPECT(!strcmp(cfg.yaml_path, yaml) && !cfg.classify);
    dataset_config_free(&cfg);
    EXPECT(getcwd(cwd, sizeof cwd) != NULL);
    EXPECT(chdir(dir) == 0);
    EXPECT_OK(dataset_config_load("cfgs/x.yaml", NULL, false, &cfg));
    path_in(want, dir, "cfgs");
    EXPECT(!strcmp(cfg.root, want));
    dataset_config_free(&cfg);

    // A relative `path` is under the datasets directory: the argument, then the environment,
    // then ./datasets.
    path_in(yaml, dir, "y.yaml");
    const char *rel = "path: ./sets//coco/\ntrain: images/train\nval: images/val\nnames: [a]\n";
    char arg[P], env[P];
    path_in(arg, dir, "by-arg");
    path_in(env, dir, "by-env");
    const char *saved = getenv("YOLO_DATASETS_DIR");
    char saved_copy[P] = "";
    if (saved) FORMAT(saved_copy, sizeof saved_copy, "%s", saved);
    setenv("YOLO_DATASETS_DIR", env, 1);
    EXPECT_OK(load_yaml(yaml, rel, arg, &cfg));
    path_in(want, dir, "by-arg/sets/coco");
    EXPECT(!strcmp(cfg.root, want));
    path_in(want, dir, "by-arg/sets/coco/images/train");
    EXPECT(!strcmp(cfg.sources[SPLIT_TRAIN][0], want));
    dataset_config_free(&cfg);
    EXPECT(!strcmp(datasets_dir(NULL), env) && !strcmp(datasets_dir("x"), "x"));
    EXPECT_OK(load_yaml(yaml, rel, NULL, &cfg));
    path_in(want, dir, "by-env/sets/coco");
    EXPECT(!strcmp(cfg.root, want));
    dataset_config_free(&cfg);
    unsetenv("YOLO_DATASETS_DIR");
    EXPECT_OK(load_yaml(yaml, rel, NULL, &cfg));
    path_in(want, dir, "datasets/sets/coco"); // the current directory is dir
    EXPECT(!strcmp(cfg.root, want));
    dataset_config_free(&cfg);

    // An absolute path stays; an absolute split value replaces the root (pathlib's `/`).
    char abs_text[3 * P];
    FORMAT(abs_text, sizeof abs_text, "path: %s/abs\ntrain: images/train\nval: %s/elsewhere/val\nnames: [a]\n", dir, dir);
    EXPECT_OK(load_yaml(yaml, abs_text, arg, &cfg));
    path_in(want, dir, "abs");
    EXPECT(!strcmp(cfg.root, want));
    path_in(want, dir, "elsewhere/val");
    EXPECT(!strcmp(cfg.sources[SPLIT_VAL][0], want));
    dataset_config_free(&cfg);

    if (saved) setenv("YOLO_DATASETS_DIR", saved_copy, 1);
    EXPECT(chdir(cwd) == 0);
    scratch_remove(dir);
}

TEST(dataset_yaml_parent_dir_fallback) {
    char dir[P], yaml[P], want[P], text[2 * P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    // root/../images/train is absent, root/images/train exists: the ../ is dropped.
    path_in(want, dir, "root/images/train");
    make_dirs(want);
    // root/../images/val exists: kept as written.
    path_in(want, dir, "images/val");
    make_dirs(want);
    path_in(yaml, dir, "root/data.yaml");
    FORMAT(text, sizeof text, "train: ../images/train\nval: ../images/val\ntest: ../images/test\nnames: [a]\n");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, text, NULL, &cfg));
    path_in(want, dir, "root/images/train");
    EXPECT(!strcmp(cfg.sources[SPLIT_TRAIN][0], want));
    path_in(want, dir, "root/../images/val");
    EXPECT(!strcmp(cfg.sources[SPLIT_VAL][0], want));
    path_in(want, dir, "root/../images/test"); // neither exists: the path the YAML asked for
    EXPECT(!strcmp(cfg.sources[SPLIT_TEST][0], want));
    DatasetSplit s;
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_TEST, &s, dir, NULL), "test: ");
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_yaml_errors) {
    char dir[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    path_in(yaml, dir, "coco8.yaml");
    DatasetConfig cfg;
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: images/train\nnames: [a]\n", NULL, &cfg),
                      "coco8.yaml: `val` is missing; add val: images/val");
    EXPECT_FAILS_WITH(load_yaml(yaml, "val: images/val\nnames: [a]\n", NULL, &cfg),
                      "`train` is missing; add train: images/train");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: []\nval: v\nnames: [a]\n", NULL, &cfg), "`train` is missing");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: t\nval: v\nnames: [a]\nchannels: 1\n", NULL, &cfg),
                      "coco8.yaml:4: `channels: 1` is not supported");
    EXPECT_FAILS_WITH(load_yaml(yaml, "train: {a: b}\nval: v\nnames: [a]\n", NULL, &cfg),
                      "`train` must be a path or a list of paths");
    EXPECT_FAILS_WITH(load_yaml(yaml, "- a\n- b\n", NULL, &cfg), "a dataset YAML is a map");
    EXPECT_FAILS_WITH(load_yaml(yaml, "names: [a]\ntrain: x\n  bad: indent\nval: v\n", NULL, &cfg),
                      "coco8.yaml:3: YAML syntax error");
    EXPECT_FAILS_WITH(load_yaml(yaml, "names: [a, b\ntrain: x\n", NULL, &cfg), "YAML syntax error");
    EXPECT_FAILS_WITH(dataset_config_load("nowhere.yaml", dir, false, &cfg), "data=nowhere.yaml: no such file here");
    EXPECT_FAILS_WITH(dataset_config_load(dir, NULL, false, &cfg), "is a folder; detect and segment datasets are YAML files");
    EXPECT_FAILS_WITH(dataset_config_load("", NULL, false, &cfg), "data= is empty");

    // Keys are accepted: validation for val, channels: 3, download (used only while val is
    // missing: tests/test_download.c).
    char val[P];
    path_in(val, dir, "v");
    make_dirs(val);
    EXPECT_OK(load_yaml(yaml, "train: t\nvalidation: v\nnames: [a]\nchannels: 3\ndownload: https://x/y.zip\n", NULL, &cfg));
    EXPECT(cfg.n_sources[SPLIT_VAL] == 1 && strstr(cfg.sources[SPLIT_VAL][0], "/v"));
    DatasetSplit s;
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL), "train: ");
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_TEST, &s, dir, NULL), "test: the dataset has no `test` split");
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_yaml_lookup_in_datasets_dir) {
    char dir[P], yaml[P], want[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    path_in(yaml, dir, "mine.yaml");
    write_text(yaml, "path: mine\ntrain: images/train\nval: images/val\nnames: [a]\n");
    DatasetConfig cfg;
    EXPECT_OK(dataset_config_load("mine.yaml", dir, false, &cfg)); // not in the current directory
    EXPECT(!strcmp(cfg.yaml_path, yaml));
    path_in(want, dir, "mine");
    EXPECT(!strcmp(cfg.root, want));
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

// A small detect dataset with one file of every kind the scan tells apart.
static void make_mixed_dataset(const char *dir, DatasetConfig *cfg) {
    char p[P], yaml[P];
    const char *labels[][2] = {
        {"a", "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n"},  // good
        {"b", ""},                                       // background
        {"d", "7 0.5 0.5 0.2 0.2\n"},                    // class out of range
        {"h", "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n"}, // a duplicate row
        {"i", "0 0.5 0.5\n"},                            // too few fields
        {"sub/j", "1 1.5 0.5 0.2 0.2\n"},                // coordinate out of range
    };
    for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
        FORMAT(p, sizeof p, "%s/ds/labels/train/%s.txt", dir, labels[i][0]);
        write_text(p, labels[i][1]);
    }
    const char *good[] = {"a.png", "b.png", "c.png", "d.png", "h.png", "i.png", "sub/j.jpg", ".hidden.png"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        FORMAT(p, sizeof p, "%s/ds/images/train/%s", dir, good[i]);
        write_image(p, 32 + (int)i, 24, (int)i);
    }
    FORMAT(p, sizeof p, "%s/ds/images/train/e.jpg", dir);
    write_text(p, "not a jpeg at all");
    FORMAT(p, sizeof p, "%s/ds/images/train/f.png", dir);
    write_image(p, 5, 5, 0);
    FORMAT(p, sizeof p, "%s/ds/images/train/g.webp", dir);
    write_text(p, "RIFF....WEBPVP8 ");
    FORMAT(p, sizeof p, "%s/ds/images/train/notes.txt", dir);
    write_text(p, "not an image name");
    path_in(yaml, dir, "ds/data.yaml");
    EXPECT_OK(load_yaml(yaml, "train: images/train\nval: images/train\nnames: [cat, dog]\n", NULL, cfg));
}

TEST(dataset_scan_counts_warnings_and_summary) {
    char dir[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    DatasetConfig cfg;
    make_mixed_dataset(dir, &cfg);
    DatasetSplit s;
    char *out;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    const ScanSummary *m = &s.summary;
    EXPECT(m->images_found == 10 && m->images_kept == 4 && s.n == 4);
    EXPECT(m->backgrounds == 2 && m->missing_labels == 1);
    EXPECT(m->bad_images == 3 && m->unreadable_labels == 0);
    EXPECT(m->bad_labels[LABEL_OK] == 0 && m->bad_labels[LABEL_CLASS_RANGE] == 1 && m->bad_labels[LABEL_BAD_SYNTAX] == 1 &&
           m->bad_labels[LABEL_COORD_RANGE] == 1);
    EXPECT(m->duplicate_rows == 1 && m->instances == 3 && !m->from_cache);
    const char *kept[] = {"a.png", "b.png", "c.png", "h.png"};
    for (int i = 0; i < 4 && i < s.n; i++) {
        char want[P];
        FORMAT(want, sizeof want, "%s/ds/images/train/%s", dir, kept[i]);
        EXPECT(!strcmp(s.image_paths[i], want));
    }
    EXPECT(s.width[0] == 32 && s.height[0] == 24 && s.width[3] == 36);
    EXPECT(s.labels[0].n == 2 && s.labels[0].cls[1] == 1 && s.labels[0].boxes[4] == 0.3f && s.labels[3].n == 1);
    EXPECT(s.labels[1].n == 0 && s.labels[2].n == 0 && !s.has_polygons && s.class_index == NULL);

    EXPECT(strstr(out, "train: 4 images, 2 backgrounds, 6 corrupt\n") != NULL);
    EXPECT(count_lines_with(out, "warning: ") == 7);
    EXPECT(count_lines_with(out, "e.jpg: not a PNG or JPEG") == 1);
    EXPECT(count_lines_with(out, "f.png: image is 5x5 pixels") == 1);
    EXPECT(count_lines_with(out, "g.webp: cannot read .webp images (only PNG and JPEG are supported)") == 1);
    EXPECT(count_lines_with(out, "labels/train/d.txt: line 1: class 7 is not in [0, 2)") == 1);
    EXPECT(count_lines_with(out, "labels/train/h.txt: 1 duplicate rows removed") == 1);
    EXPECT(count_lines_with(out, "labels/train/i.txt: line 1: 3 fields") == 1);
    EXPECT(count_lines_with(out, "labels/train/sub/j.txt: line 1: coordinate 1.5") == 1);
    EXPECT(count_lines_with(out, "images/train/e.jpg: /") == 0); // the path is not repeated
    free(out);
    dataset_split_free(&s);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_scan_split_as_list_and_txt) {
    char dir[P], p[P], yaml[P], text[3 * P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    const char *images[] = {"ds/images/a/1.png", "ds/images/b/2.png", "ds/images/c/3.png", "ds/other/4.png", "elsewhere/5.png"};
    for (int i = 0; i < 5; i++) {
        path_in(p, dir, images[i]);
        write_image(p, 16, 16, i);
    }
    // ./ and bare relative lines are relative to the list's folder; absolute ones stay; lines
    // that are not images are dropped.
    FORMAT(text, sizeof text, "./images/b/2.png\r\n\n  images/c/3.png  \nREADME.md\n%s/elsewhere/5.png\n", dir);
    path_in(p, dir, "ds/list.txt");
    write_text(p, text);
    path_in(p, dir, "ds/images/a/self"); // a symlink loop is listed once
    EXPECT(symlink(".", p) == 0);
    path_in(yaml, dir, "ds/data.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: [images/a, list.txt, other/4.png]\nval: list.txt\nnames: [a]\n", NULL, &cfg));
    EXPECT(cfg.n_sources[SPLIT_TRAIN] == 3);
    DatasetSplit s;
    char *out;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    EXPECT(s.n == 5 && s.summary.missing_labels == 5 && s.summary.backgrounds == 5);
    // One sorted list over every source.
    for (int i = 1; i < s.n; i++) EXPECT(strcmp(s.image_paths[i - 1], s.image_paths[i]) < 0);
    EXPECT(s.n == 5 && strstr(s.image_paths[4], "/elsewhere/5.png")); // "ds/..." sorts first
    EXPECT(strstr(out, "no labels found") != NULL);
    dataset_split_free(&s);
    free(out);
    EXPECT_OK(scan_quietly(&cfg, SPLIT_VAL, &s, dir, NULL));
    EXPECT(s.n == 3);
    dataset_split_free(&s);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_scan_caps_printed_warnings) {
    char dir[P], p[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    for (int i = 0; i < 25; i++) {
        FORMAT(p, sizeof p, "%s/ds/images/train/bad%02d.png", dir, i);
        write_text(p, "garbage");
    }
    path_in(p, dir, "ds/images/train/good.png");
    write_image(p, 12, 12, 0);
    path_in(yaml, dir, "ds/d.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: images/train\nval: images/train\nnames: [a]\n", NULL, &cfg));
    DatasetSplit s;
    char *out;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    EXPECT(count_lines_with(out, ".png: not a PNG or JPEG") == 20);
    EXPECT(count_lines_with(out, "warning: ... and 5 more") == 1);
    EXPECT(strstr(out, "train: 1 images, 1 backgrounds, 25 corrupt") != NULL);
    EXPECT(s.summary.bad_images == 25);
    free(out);
    dataset_split_free(&s);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_scan_without_usable_images_fails) {
    char dir[P], p[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    path_in(p, dir, "ds/images/train/x.png");
    write_text(p, "garbage");
    path_in(p, dir, "ds/images/val/readme.md");
    write_text(p, "no images here");
    path_in(yaml, dir, "ds/d.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: images/train\nval: images/val\nnames: [a]\n", NULL, &cfg));
    DatasetSplit s;
    char want[P + 64];
    FORMAT(want, sizeof want, "train: no usable images in %s/ds/images/train: 1 found", dir);
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL), want);
    FORMAT(want, sizeof want, "val: no images in %s/ds/images/val", dir);
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_VAL, &s, dir, NULL), want);
    EXPECT(s.n == 0 && s.image_paths == NULL);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

static uint64_t scan_fingerprint(const DatasetConfig *cfg, const char *dir) {
    DatasetSplit s;
    EXPECT_OK(scan_quietly(cfg, SPLIT_TRAIN, &s, dir, NULL));
    uint64_t f = s.fingerprint;
    dataset_split_free(&s);
    return f;
}

TEST(dataset_scan_fingerprint_follows_labels) {
    char dir[P], label[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    DatasetConfig cfg;
    make_mixed_dataset(dir, &cfg);
    uint64_t first = scan_fingerprint(&cfg, dir);
    EXPECT(scan_fingerprint(&cfg, dir) == first); // from the cache: the same
    path_in(label, dir, "ds/labels/train/a.txt");
    write_text(label, "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.11\n");
    uint64_t changed = scan_fingerprint(&cfg, dir);
    EXPECT(changed != first);
    write_text(label, "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n");
    EXPECT(scan_fingerprint(&cfg, dir) == first);
    // Paths count relative to the root: the same dataset elsewhere has the same fingerprint.
    char moved[P], from[P];
    path_in(moved, dir, "moved");
    path_in(from, dir, "ds");
    EXPECT(rename(from, moved) == 0);
    dataset_config_free(&cfg);
    path_in(from, dir, "moved/data.yaml");
    EXPECT_OK(dataset_config_load(from, NULL, false, &cfg));
    EXPECT(scan_fingerprint(&cfg, dir) == first);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

static void set_mtime(const char *path, const struct timespec *t) {
    struct timespec times[2] = {*t, *t};
    EXPECT(utimensat(AT_FDCWD, path, times, 0) == 0);
}

TEST(dataset_cache_reused_until_files_change) {
    char dir[P], cache[P], image[P], label[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    DatasetConfig cfg;
    make_mixed_dataset(dir, &cfg);
    DatasetSplit first, s;
    char *out;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &first, dir, NULL));
    path_in(cache, dir, "ds/labels/train.cache");
    EXPECT(!first.summary.from_cache && access(cache, F_OK) == 0);

    // Second scan: from the cache, with the same results and the same warnings replayed.
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    EXPECT(s.summary.from_cache && s.n == first.n && s.fingerprint == first.fingerprint);
    const ScanSummary *a = &first.summary, *b = &s.summary;
    EXPECT(a->images_found == b->images_found && a->images_kept == b->images_kept && a->backgrounds == b->backgrounds &&
           a->missing_labels == b->missing_labels && a->bad_images == b->bad_images &&
           a->unreadable_labels == b->unreadable_labels && !memcmp(a->bad_labels, b->bad_labels, sizeof a->bad_labels) &&
           a->duplicate_rows == b->duplicate_rows && a->instances == b->instances);
    EXPECT(count_lines_with(out, "warning: ") == 7 && strstr(out, "(from the label cache)"));
    free(out);
    dataset_split_free(&s);

    // Proof that no image is read: a.png's bytes replaced by garbage of the same size, its
    // mtime restored; the cache still answers, so a.png is still a good image.
    path_in(image, dir, "ds/images/train/a.png");
    struct stat st;
    EXPECT(stat(image, &st) == 0);
    char *garbage = calloc(1, (size_t)st.st_size);
    write_bytes(image, garbage, (size_t)st.st_size);
    free(garbage);
    set_mtime(image, &st.st_mtim);
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(s.summary.from_cache && s.n == 4);
    dataset_split_free(&s);

    // Touching a label file invalidates the cache; the rescan now sees the garbage image.
    path_in(label, dir, "ds/labels/train/b.txt");
    struct timespec later = {st.st_mtim.tv_sec + 10, 0};
    set_mtime(label, &later);
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(!s.summary.from_cache && s.n == 3 && s.summary.bad_images == 4);
    dataset_split_free(&s);
    // A new label file (for c.png, which had none) invalidates it too.
    path_in(label, dir, "ds/labels/train/c.txt");
    write_text(label, "1 0.5 0.5 0.5 0.5\n");
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(!s.summary.from_cache && s.summary.missing_labels == 0 && s.summary.instances == 2);
    dataset_split_free(&s);

    // A cache that cannot be written (here a folder is in the way) is a warning, not an error.
    EXPECT(unlink(cache) == 0 && mkdir(cache, 0755) == 0);
    write_text(label, "1 0.5 0.5 0.5 0.4\n");
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    EXPECT(!s.summary.from_cache && strstr(out, "cannot write the label cache") &&
           strstr(out, "the next scan will read every file again"));
    free(out);
    dataset_split_free(&s);
    dataset_split_free(&first);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

// Rewrites the cache with `edit` applied and checks that the next scan ignores it, gives the same
// result as a fresh scan, and leaves a good cache behind.
static void expect_rebuilt(const DatasetConfig *cfg, const char *dir, const char *cache, const uint8_t *good, size_t len,
                           size_t edit_at, int edit, size_t new_len, bool fix_checksum) {
    uint8_t *bytes = malloc(len + 1);
    memcpy(bytes, good, len);
    if (edit_at < len) bytes[edit_at] = (uint8_t)(bytes[edit_at] + edit);
    if (fix_checksum && new_len >= 36) {
        // A forged file whose checksum agrees: only the checks on the values can refuse it.
        uint64_t h = XXH3_64bits(bytes + 36, new_len - 36);
        for (int k = 0; k < 8; k++) bytes[28 + k] = (uint8_t)(h >> (8 * k));
    }
    write_bytes(cache, bytes, new_len);
    free(bytes);
    DatasetSplit s;
    EXPECT_OK(scan_quietly(cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(!s.summary.from_cache && s.n == 4 && s.summary.images_found == 10);
    dataset_split_free(&s);
    EXPECT_OK(scan_quietly(cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(s.summary.from_cache && s.n == 4);
    dataset_split_free(&s);
}

TEST(dataset_cache_damaged_or_forged_is_rebuilt) {
    char dir[P], cache[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    DatasetConfig cfg;
    make_mixed_dataset(dir, &cfg);
    DatasetSplit s;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
    dataset_split_free(&s);
    path_in(cache, dir, "ds/labels/train.cache");
    size_t len;
    uint8_t *good = (uint8_t *)test_file_read(cache, &len);
    EXPECT(good && len > 100);
    if (!good) return;
    expect_rebuilt(&cfg, dir, cache, good, len, len, 0, len / 2, false);     // truncated
    expect_rebuilt(&cfg, dir, cache, good, len, len, 0, 0, false);           // empty
    expect_rebuilt(&cfg, dir, cache, good, len, len - 5, 1, len, false);     // one byte changed
    expect_rebuilt(&cfg, dir, cache, good, len, 8, 1, len, false);           // another version
    expect_rebuilt(&cfg, dir, cache, good, len, 0, 1, len, false);           // not a cache
    expect_rebuilt(&cfg, dir, cache, good, len, 36, 1, len, true);           // images_found off by one
    expect_rebuilt(&cfg, dir, cache, good, len, 36 + 4 * 13, 100, len, true); // a warning count past the end
    expect_rebuilt(&cfg, dir, cache, good, len, len - 1, 0x40, len, true);   // a coordinate outside [0, 1]
    // Every truncation point, forged or not: never accepted, never a crash.
    for (size_t cut = 36; cut < len; cut += 11) {
        uint8_t *b = malloc(len);
        memcpy(b, good, len);
        uint64_t h = XXH3_64bits(b + 36, cut - 36);
        for (int k = 0; k < 8; k++) b[28 + k] = (uint8_t)(h >> (8 * k));
        uint64_t payload = cut - 36;
        for (int k = 0; k < 8; k++) b[20 + k] = (uint8_t)(payload >> (8 * k));
        write_bytes(cache, b, cut);
        free(b);
        EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
        EXPECT(!s.summary.from_cache && s.n == 4);
        dataset_split_free(&s);
    }
    free(good);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_scan_segment_polygons_through_cache) {
    char dir[P], p[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    path_in(p, dir, "ds/images/train/a.png");
    write_image(p, 20, 20, 0);
    path_in(p, dir, "ds/images/train/b.png");
    write_image(p, 20, 20, 1);
    path_in(p, dir, "ds/labels/train/a.txt");
    write_text(p, "0 0.1 0.1 0.5 0.1 0.3 0.6\n1 0.2 0.2 0.4 0.2 0.4 0.4 0.2 0.4\n");
    path_in(yaml, dir, "ds/d.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: images/train\nval: images/train\nnames: [a, b]\n", NULL, &cfg));
    DatasetSplit fresh, cached;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &fresh, dir, NULL));
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &cached, dir, NULL));
    EXPECT(fresh.has_polygons && cached.has_polygons && cached.summary.from_cache);
    const Labels *x = &fresh.labels[0], *y = &cached.labels[0];
    EXPECT(x->n == 2 && y->n == 2 && x->poly && y->poly && y->poly[2] == 7 && cached.labels[1].n == 0);
    if (x->n == 2 && y->n == 2 && x->poly && y->poly) {
        EXPECT(!memcmp(x->poly, y->poly, 3 * sizeof(int)) && !memcmp(x->points, y->points, 14 * sizeof(float)));
        EXPECT(!memcmp(x->boxes, y->boxes, 8 * sizeof(float)) && !memcmp(x->cls, y->cls, 2 * sizeof(int)));
    }
    EXPECT(fresh.fingerprint == cached.fingerprint);
    dataset_split_free(&fresh);
    dataset_split_free(&cached);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

// Enough images for the scan to use worker threads; results must not depend on that.
TEST(dataset_scan_many_images) {
    char dir[P], p[P], yaml[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        FORMAT(p, sizeof p, "%s/ds/images/train/%03d.png", dir, i);
        if (i % 50 == 7) write_text(p, "broken");
        else write_image(p, 10 + i % 7, 12, i);
        FORMAT(p, sizeof p, "%s/ds/labels/train/%03d.txt", dir, i);
        if (i % 3 == 0) write_text(p, "0 0.5 0.5 0.1 0.1\n");
    }
    path_in(yaml, dir, "ds/d.yaml");
    DatasetConfig cfg;
    EXPECT_OK(load_yaml(yaml, "train: images/train\nval: images/train\nnc: 1\n", NULL, &cfg));
    DatasetSplit s, again;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, NULL));
    EXPECT(s.n == N - 6 && s.summary.bad_images == 6 && s.summary.instances == 98 && s.summary.missing_labels == 196);
    for (int i = 0; i < s.n; i++) {
        int k = atoi(strrchr(s.image_paths[i], '/') + 1);
        EXPECT(s.width[i] == 10 + k % 7 && s.labels[i].n == (k % 3 == 0));
    }
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &again, dir, NULL));
    EXPECT(again.summary.from_cache && again.fingerprint == s.fingerprint);
    dataset_split_free(&s);
    dataset_split_free(&again);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}

TEST(dataset_classify_folders) {
    char dir[P], p[P], want[P];
    if (!scratch_make(dir, sizeof dir, "dataset")) return;
    const char *train[] = {"b/1.png", "a/2.png", "a/1.png", "Z/1.png", "Z/sub/2.jpg", ".hidden/1.png", "a-b/1.png"};
    for (size_t i = 0; i < sizeof train / sizeof *train; i++) {
        FORMAT(p, sizeof p, "%s/cls/train/%s", dir, train[i]);
        write_image(p, 16, 16, (int)i);
    }
    FORMAT(p, sizeof p, "%s/cls/train/b/broken.png", dir);
    write_text(p, "broken");
    const char *val[] = {"a/x.png", "b/y.png", "extra/z.png"};
    for (size_t i = 0; i < sizeof val / sizeof *val; i++) {
        FORMAT(p, sizeof p, "%s/cls/validation/%s", dir, val[i]);
        write_image(p, 16, 16, (int)i);
    }

    DatasetConfig cfg;
    EXPECT_OK(dataset_config_load("cls", dir, true, &cfg)); // a name under the datasets directory
    EXPECT(cfg.classify && cfg.nc == 4 && cfg.yaml_path[0] == '\0' && cfg.text && cfg.text[0] == '\0');
    const char *names[] = {"Z", "a", "a-b", "b"}; // strcmp order; hidden folders are not classes
    for (int c = 0; c < 4 && c < cfg.nc; c++) EXPECT(!strcmp(cfg.names[c], names[c]));
    path_in(want, dir, "cls/validation");
    EXPECT(cfg.n_sources[SPLIT_VAL] == 1 && !strcmp(cfg.sources[SPLIT_VAL][0], want));
    EXPECT(cfg.n_sources[SPLIT_TEST] == 0);

    DatasetSplit s;
    char *out;
    EXPECT_OK(scan_quietly(&cfg, SPLIT_TRAIN, &s, dir, &out));
    // Class by class, in class order (ImageFolder's order), each class's files sorted.
    const char *order[] = {"Z/1.png", "Z/sub/2.jpg", "a/1.png", "a/2.png", "a-b/1.png", "b/1.png"};
    const int classes[] = {0, 0, 1, 1, 2, 3};
    EXPECT(s.n == 6 && s.summary.images_found == 7 && s.summary.bad_images == 1 && s.labels == NULL);
    for (int i = 0; i < 6 && i < s.n; i++) {
        FORMAT(want, sizeof want, "%s/cls/train/%s", dir, order[i]);
        EXPECT(!strcmp(s.image_paths[i], want) && s.class_index[i] == classes[i] && s.width[i] == 16);
    }
    EXPECT(strstr(out, "train: 6 images in 4 classes, 1 corrupt\n") && strstr(out, "b/broken.png: not a PNG or JPEG"));
    free(out);
    uint64_t train_fp = s.fingerprint;
    dataset_split_free(&s);

    EXPECT_OK(scan_quietly(&cfg, SPLIT_VAL, &s, dir, &out));
    EXPECT(s.n == 2 && s.class_index[0] == 1 && s.class_index[1] == 3 && s.fingerprint != train_fp);
    EXPECT(strstr(out, "validation/extra: not a class of train/") != NULL);
    free(out);
    dataset_split_free(&s);
    EXPECT_FAILS_WITH(scan_quietly(&cfg, SPLIT_TEST, &s, dir, NULL), "no `test` split");
    dataset_config_free(&cfg);

    // No val/ or validation/: test/ stands in, with a warning.
    FORMAT(p, sizeof p, "%s/cls/validation", dir);
    FORMAT(want, sizeof want, "%s/cls/test", dir);
    EXPECT(rename(p, want) == 0);
    Capture c;
    capture_start(&c, dir);
    path_in(p, dir, "cls");
    int rc = dataset_config_load(p, NULL, true, &cfg);
    out = capture_stop(&c);
    EXPECT(rc == 0 && cfg.n_sources[SPLIT_VAL] == 1 && !strcmp(cfg.sources[SPLIT_VAL][0], want));
    EXPECT(strstr(out, "no val/ folder; validating on test/") != NULL);
    free(out);
    dataset_config_free(&cfg);

    EXPECT_FAILS_WITH(dataset_config_load("absent", dir, true, &cfg), "data=absent: no such folder");
    FORMAT(p, sizeof p, "%s/cls/test", dir);
    EXPECT_FAILS_WITH(dataset_config_load(p, NULL, true, &cfg), "has no train/ folder");
    scratch_remove(dir);
}
