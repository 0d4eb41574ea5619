// The built-in synthetic datasets: file layout, labels that parse and agree with the pixels and
// with each other, identical bytes on a second generation, and the rules that keep a dataset
// folder either absent or complete.
#define _XOPEN_SOURCE 700 // nftw
#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "data/image.h"
#include "data/labels.h"
#include "data/polygon.h"
#include "data/shapes.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

enum { NC = 5 };

// ---- scratch folders and file helpers ----

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// A digest of a folder's files and their paths relative to it: a sum of per-file hashes, so the
// order in which the directory walk meets them does not matter.
static struct {
    size_t root_len;
    uint64_t sum;
    int files;
} digest;

static int digest_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)ftw;
    if (flag != FTW_F) return 0;
    size_t len;
    char *bytes = test_file_read(path, &len);
    const char *rel = path + digest.root_len;
    digest.sum += XXH3_64bits_withSeed(bytes, len, XXH3_64bits(rel, strlen(rel)));
    digest.files++;
    free(bytes);
    return 0;
}

static uint64_t hash_tree(const char *dir, int *files) {
    digest.root_len = strlen(dir);
    digest.sum = 0;
    digest.files = 0;
    nftw(dir, digest_entry, 16, FTW_PHYS);
    *files = digest.files;
    return digest.sum;
}

// Image i of a detect or segment split: a quarter of them are PNG.
static void image_path(char *out, size_t cap, const char *root, const char *split, int i) {
    snprintf(out, cap, "%s/images/%s/%05d.%s", root, split, i, i % 4 == 1 ? "png" : "jpg");
}

static bool load_labels(const char *root, const char *split, int i, Labels *l) {
    char path[512], why[256];
    snprintf(path, sizeof path, "%s/labels/%s/%05d.txt", root, split, i);
    size_t len;
    char *text = test_file_read(path, &len);
    if (!text) {
        test_fail(__FILE__, __LINE__, "%s is missing", path);
        return false;
    }
    int dup = 0;
    LabelProblem p = labels_parse(text, len, NC, l, &dup, why, sizeof why);
    free(text);
    if (p != LABEL_OK || dup != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s (%d duplicate rows)", path, why, dup);
        return false;
    }
    return true;
}

// Whether a box (pixels, [x0, x1) x [y0, y1)) holds something unlike its surroundings: its mean
// colour, per channel, against that of a 3 px ring around it (the frame's part of the ring
// missing). Means wash out noise and JPEG ringing.
static bool box_stands_out(const Image *img, int x0, int y0, int x1, int y1) {
    double inside[3] = {0}, ring[3] = {0};
    int n_in = 0, n_ring = 0;
    for (int y = y0 - 3; y < y1 + 3; y++)
        for (int x = x0 - 3; x < x1 + 3; x++) {
            if (x < 0 || y < 0 || x >= img->w || y >= img->h) continue;
            bool in = x >= x0 && x < x1 && y >= y0 && y < y1;
            const uint8_t *p = img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3;
            double *sum = in ? inside : ring;
            for (int c = 0; c < 3; c++) sum[c] += p[c];
            *(in ? &n_in : &n_ring) += 1;
        }
    if (n_in == 0 || n_ring == 0) return false;
    double diff = 0.0;
    for (int c = 0; c < 3; c++) diff += fabs(inside[c] / n_in - ring[c] / n_ring);
    return diff >= 15.0;
}

TEST(shapes_names) {
    const char *yes[] = {"shapes8", "shapes8.yaml", "shapes", "shapes.yaml", "shapes8-seg", "shapes-seg.yaml",
                         "shapes8-cls", "shapes-cls", "shapes-cls.yaml"};
    const char *no[] = {"coco8.yaml", "shapes8.yml", "configs/datasets/shapes.yaml", "", ".yaml", "shapes9",
                        "shapes8.yaml.yaml", "SHAPES8"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) EXPECT(shapes_is_builtin(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) EXPECT(!shapes_is_builtin(no[i]));
    EXPECT(!shapes_is_builtin(NULL));
    char dir[64], root[128];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(root, sizeof root, "%s/coco8", dir);
    EXPECT_FAILS_WITH(shapes_generate("coco8.yaml", root), "not a built-in dataset");
    EXPECT(test_folder_entries(dir, NULL, 0) == 0);
    scratch_remove(dir);
}

// shapes8: 4 + 4 images, both formats, labels that parse, boxes inside the image that frame
// something, and a background-free set (every image has objects).
TEST(shapes8_detect_files_and_boxes) {
    char dir[64], root[128], path[512];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(root, sizeof root, "%s/datasets/shapes8", dir); // the parent folder is created too
    EXPECT_OK(shapes_generate("shapes8.yaml", root));
    int objects = 0, framed = 0, png = 0;
    const char *splits[2] = {"train", "val"};
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/images/%s", root, splits[s]);
        EXPECT(test_folder_entries(path, NULL, 0) == 4);
        snprintf(path, sizeof path, "%s/labels/%s", root, splits[s]);
        EXPECT(test_folder_entries(path, NULL, 0) == 4);
        for (int i = 0; i < 4; i++) {
            image_path(path, sizeof path, root, splits[s], i);
            png += strstr(path, ".png") != NULL;
            Image img = {0};
            Labels l;
            if (image_read(path, &img) != 0) {
                test_fail(__FILE__, __LINE__, "%s", yolo_error());
                yolo_error_clear();
                continue;
            }
            EXPECT(img.w >= 128 && img.h >= 128 && img.w <= 384 && img.h <= 384);
            if (load_labels(root, splits[s], i, &l)) {
                EXPECT(l.n > 0 && l.poly == NULL);
                for (int k = 0; k < l.n; k++) {
                    const float *b = l.boxes + 4 * k;
                    EXPECT(l.cls[k] >= 0 && l.cls[k] < NC);
                    EXPECT(b[0] - b[2] / 2 >= -1e-6f && b[0] + b[2] / 2 <= 1 + 1e-6f);
                    EXPECT(b[1] - b[3] / 2 >= -1e-6f && b[1] + b[3] / 2 <= 1 + 1e-6f);
                    EXPECT(b[2] * img.w >= 3 && b[3] * img.h >= 3); // >= 30 px visible
                    int x0 = (int)lroundf((b[0] - b[2] / 2) * img.w), x1 = (int)lroundf((b[0] + b[2] / 2) * img.w);
                    int y0 = (int)lroundf((b[1] - b[3] / 2) * img.h), y1 = (int)lroundf((b[1] + b[3] / 2) * img.h);
                    framed += box_stands_out(&img, x0, y0, x1, y1);
                }
                objects += l.n;
                labels_free(&l);
            }
            image_free(&img);
        }
    }
    EXPECT(png == 2);
    EXPECT(objects >= 8);
    // Overlaps and busy backgrounds can hide a box's contrast in the means; most must show it.
    EXPECT(framed * 10 >= objects * 8);
    scratch_remove(dir);
}

// Segment labels: polygons in [0, 1] with area, on the same images as shapes8, one per detect
// box and in the same order; each detect box (the visible part) lies within its polygon's box,
// and equals it for most objects (those not occluded).
TEST(shapes8_seg_polygons_match_detect) {
    char dir[64], det[128], seg[128], path[512];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(det, sizeof det, "%s/shapes8", dir);
    snprintf(seg, sizeof seg, "%s/shapes8-seg", dir);
    EXPECT_OK(shapes_generate("shapes8", det));
    EXPECT_OK(shapes_generate("shapes8-seg.yaml", seg));
    int n_det, n_seg;
    snprintf(path, sizeof path, "%s/images", det);
    uint64_t h_det = hash_tree(path, &n_det);
    snprintf(path, sizeof path, "%s/images", seg);
    uint64_t h_seg = hash_tree(path, &n_seg);
    EXPECT(n_det == 8 && n_seg == 8 && h_det == h_seg);
    int objects = 0, same = 0;
    const char *splits[2] = {"train", "val"};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 4; i++) {
            Labels d, g;
            if (!load_labels(det, splits[s], i, &d)) continue;
            if (load_labels(seg, splits[s], i, &g)) {
                EXPECT(g.poly != NULL && g.n == d.n);
                for (int k = 0; g.poly && k < g.n && k < d.n; k++) {
                    int n = g.poly[k + 1] - g.poly[k];
                    const float *xy = g.points + 2 * g.poly[k];
                    EXPECT(g.cls[k] == d.cls[k]);
                    EXPECT(n >= 3 && n <= 40);
                    EXPECT(fabs(polygon_area2(xy, n)) > 1e-5);
                    for (int j = 0; j < 2 * n; j++) EXPECT(xy[j] >= 0.0f && xy[j] <= 1.0f);
                    // Compared in pixels of a 384 px side at most: within 1 px is "equal".
                    const float *bd = d.boxes + 4 * k, *bg = g.boxes + 4 * k;
                    float tol = 1.5f / 128;
                    bool equal = true;
                    for (int a = 0; a < 2; a++) { // x, then y
                        float d0 = bd[a] - bd[a + 2] / 2, d1 = bd[a] + bd[a + 2] / 2;
                        float g0 = bg[a] - bg[a + 2] / 2, g1 = bg[a] + bg[a + 2] / 2;
                        EXPECT(d0 >= g0 - tol && d1 <= g1 + tol);
                        equal &= fabsf(d0 - g0) < tol && fabsf(d1 - g1) < tol;
                    }
                    same += equal;
                    objects++;
                }
                labels_free(&g);
            }
            labels_free(&d);
        }
    EXPECT(objects > 0 && same * 10 >= objects * 6);
    scratch_remove(dir);
}

// Classify: {train,val}/<class>/ with 2 and 1 images per class, readable, nothing else.
TEST(shapes8_cls_layout) {
    static const char *const names[NC] = {"circle", "triangle", "square", "hexagon", "star"};
    char dir[64], root[128], path[512];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(root, sizeof root, "%s/shapes8-cls", dir);
    EXPECT_OK(shapes_generate("shapes8-cls", root));
    EXPECT(test_folder_entries(root, NULL, 0) == 2);
    const char *splits[2] = {"train", "val"};
    int png = 0;
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s", root, splits[s]);
        EXPECT(test_folder_entries(path, NULL, 0) == NC);
        for (int c = 0; c < NC; c++) {
            snprintf(path, sizeof path, "%s/%s/%s", root, splits[s], names[c]);
            EXPECT(test_folder_entries(path, NULL, 0) == 2 - s);
            for (int i = 0; i < 2 - s; i++) {
                bool is_png = (i * NC + c) % 4 == 1;
                png += is_png;
                snprintf(path, sizeof path, "%s/%s/%s/%s_%04d.%s", root, splits[s], names[c], names[c], i,
                         is_png ? "png" : "jpg");
                Image img = {0};
                EXPECT_OK(image_read(path, &img));
                EXPECT(img.w >= 88 && img.h >= 88 && img.w <= 180 && img.h <= 180);
                image_free(&img);
            }
        }
    }
    EXPECT(png > 0);
    scratch_remove(dir);
}

// Same name, same bytes: every file of the three small datasets, generated twice.
TEST(shapes8_generation_is_deterministic) {
    const char *names[3] = {"shapes8", "shapes8-seg", "shapes8-cls"};
    char dir[64], a[128], b[128];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "%s/a/%s", dir, names[k]);
        snprintf(b, sizeof b, "%s/b/%s", dir, names[k]);
        EXPECT_OK(shapes_generate(names[k], a));
        EXPECT_OK(shapes_generate(names[k], b));
        int na, nb;
        uint64_t ha = hash_tree(a, &na), hb = hash_tree(b, &nb);
        EXPECT(na == (k == 2 ? 15 : 16) && na == nb && ha == hb);
    }
    scratch_remove(dir);
}

// A folder that exists counts as complete: neither rewritten nor touched.
TEST(shapes_existing_dataset_is_kept) {
    char dir[64], root[128], file[512], other[128];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(root, sizeof root, "%s/shapes8/", dir); // a trailing slash names the same folder
    EXPECT_OK(shapes_generate("shapes8", root));
    snprintf(file, sizeof file, "%s/labels/train/00000.txt", root);
    struct stat before, after, dir_before, dir_after;
    EXPECT(stat(file, &before) == 0 && stat(root, &dir_before) == 0);
    int n1, n2;
    uint64_t h1 = hash_tree(root, &n1);
    EXPECT_OK(shapes_generate("shapes8.yaml", root));
    EXPECT(stat(file, &after) == 0 && stat(root, &dir_after) == 0);
    EXPECT(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    EXPECT(before.st_ino == after.st_ino);
    EXPECT(dir_before.st_mtim.tv_nsec == dir_after.st_mtim.tv_nsec && dir_before.st_ino == dir_after.st_ino);
    EXPECT(hash_tree(root, &n2) == h1 && n1 == n2);
    EXPECT(test_folder_entries(dir, NULL, 0) == 1); // no temporary folder left beside it
    // A file where the folder should be is an error, and stays.
    snprintf(other, sizeof other, "%s/shapes", dir);
    FILE *f = fopen(other, "w");
    if (f) fclose(f);
    EXPECT_FAILS_WITH(shapes_generate("shapes", other), "not a folder");
    scratch_remove(dir);
}

// An interrupted run leaves "<root>.tmp-<pid>"; the next run removes it when its process is gone,
// leaves a live process's alone, and writes the same dataset as a clean run.
TEST(shapes_stale_temp_does_not_confuse) {
    char dir[64], root[128], clean[128], dead[192], mine[192], live[192], junk[256];
    if (!scratch_make(dir, sizeof dir, "shapes")) return;
    snprintf(root, sizeof root, "%s/d/shapes8-seg", dir);
    snprintf(clean, sizeof clean, "%s/clean/shapes8-seg", dir);
    snprintf(dead, sizeof dead, "%s.tmp-999999999", root); // above any pid_max: no such process
    snprintf(mine, sizeof mine, "%s.tmp-%ld", root, (long)getpid());
    snprintf(live, sizeof live, "%s.tmp-%ld", root, (long)getppid());
    const char *temps[3] = {dead, mine, live};
    snprintf(junk, sizeof junk, "%s/d", dir);
    mkdir(junk, 0777);
    for (int k = 0; k < 3; k++) {
        mkdir(temps[k], 0777);
        snprintf(junk, sizeof junk, "%s/images", temps[k]);
        mkdir(junk, 0777);
        snprintf(junk, sizeof junk, "%s/images/00000.jpg", temps[k]);
        FILE *f = fopen(junk, "w");
        if (f) {
            fputs("half a file", f);
            fclose(f);
        }
    }
    EXPECT_OK(shapes_generate("shapes8-seg", root));
    EXPECT_OK(shapes_generate("shapes8-seg", clean));
    EXPECT(!exists(dead) && !exists(mine) && exists(live));
    int n1, n2;
    EXPECT(hash_tree(root, &n1) == hash_tree(clean, &n2) && n1 == 16 && n2 == 16);
    scratch_remove(dir);
}
