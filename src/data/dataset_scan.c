// Scanning a split (dataset_scan): its images listed and checked, or taken from the label cache,
// the warnings printed, the summary line, and the fingerprint that notices a changed dataset.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/status.h"
#include "data/dataset_cache.h"
#include "data/dataset_internal.h"
#include "io/path.h"

// XXH3 over what training sees: image paths relative to the root, sizes, labels or classes
// (numbers in native byte order: a fingerprint is compared on one kind of machine).
static int split_fingerprint(const DatasetConfig *cfg, DatasetSplit *s) {
    XXH3_state_t *h = XXH3_createState();
    mallocCheck(h);
    XXH3_64bits_reset(h);
    size_t root_len = strlen(cfg->root);
    for (int i = 0; i < s->n; i++) {
        const char *p = s->image_paths[i];
        if (!strncmp(p, cfg->root, root_len) && p[root_len] == '/') p += root_len + 1;
        XXH3_64bits_update(h, p, strlen(p) + 1);
        int32_t size[2] = {s->width[i], s->height[i]};
        XXH3_64bits_update(h, size, sizeof size);
        if (s->class_index) {
            int32_t c = s->class_index[i];
            XXH3_64bits_update(h, &c, sizeof c);
            continue;
        }
        const Labels *l = &s->labels[i];
        int32_t head[2] = {l->n, l->poly != NULL};
        XXH3_64bits_update(h, head, sizeof head);
        if (l->n == 0) continue;
        XXH3_64bits_update(h, l->cls, sizeof *l->cls * (size_t)l->n);
        XXH3_64bits_update(h, l->boxes, sizeof *l->boxes * 4 * (size_t)l->n);
        if (l->poly) {
            XXH3_64bits_update(h, l->poly, sizeof *l->poly * ((size_t)l->n + 1));
            XXH3_64bits_update(h, l->points, sizeof *l->points * 2 * (size_t)l->poly[l->n]);
        }
    }
    s->fingerprint = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return 0;
}

static void set_has_polygons(DatasetSplit *s) {
    int labelled = 0, with_polygons = 0;
    for (int i = 0; s->labels && i < s->n; i++) {
        labelled += s->labels[i].n > 0;
        with_polygons += s->labels[i].n > 0 && s->labels[i].poly != NULL;
    }
    s->has_polygons = labelled > 0 && with_polygons == labelled;
}

// A split's sources, comma-separated, for messages.
static void describe_sources(const DatasetConfig *cfg, SplitKind split, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < cfg->n_sources[split] && o < cap; i++) {
        int w = snprintf(out + o, cap - o, "%s%s", i == 0 ? "" : ", ", cfg->sources[split][i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

static int corrupt_count(const ScanSummary *s) {
    int n = s->bad_images + s->unreadable_labels;
    for (int k = 0; k < LABEL_KIND_COUNT; k++) n += s->bad_labels[k];
    return n;
}

static int fail_no_usable(const DatasetConfig *cfg, SplitKind split, const DatasetSplit *out) {
    char where[2 * DATASET_PATH_CAP];
    describe_sources(cfg, split, where, sizeof where);
    return yolo_fail("%s: no usable images in %s: %d found, all skipped (see the warnings above)", DATASET_SPLIT_KEYS[split], where,
                     out->summary.images_found);
}

// Lists a detect/segment split (sorted, as Ultralytics sorts the whole list), then takes the
// scan from the label cache or checks every file and rewrites the cache.
static int scan_labelled(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, ScanWarnings *warnings) {
    const char *key = DATASET_SPLIT_KEYS[split];
    PathList list = {0};
    for (int i = 0; i < cfg->n_sources[split]; i++) {
        const char *src = cfg->sources[split][i];
        if (!path_exists(src)) {
            path_list_free(&list);
            return yolo_fail("%s: %s does not exist; check `%s` in %s (relative paths start at the dataset root %s)", key, src,
                             key, cfg->yaml_path, cfg->root);
        }
        if (dataset_list_source(src, &list) != 0) {
            path_list_free(&list);
            return yolo_fail("%s", key);
        }
    }
    if (list.n == 0) {
        char where[2 * DATASET_PATH_CAP];
        describe_sources(cfg, split, where, sizeof where);
        path_list_free(&list);
        return yolo_fail("%s: no images in %s; image files end in .jpg, .png, .bmp, .tif, .webp, ... (only PNG and JPEG can "
                         "be read)",
                         key, where);
    }
    path_list_sort(&list);

    char cache[DATASET_PATH_CAP];
    uint64_t cache_key = 0;
    bool cacheable = label_cache_path(list.items[0], cache, sizeof cache) == 0 &&
                     label_cache_key(list.items, list.n, cfg->nc, &cache_key) == 0;
    yolo_error_clear();
    if (cacheable && label_cache_load(cache, cache_key, cfg->nc, out, &warnings->items, &warnings->n) == 0) {
        warnings->cap = warnings->n;
        out->summary.from_cache = true;
        path_list_free(&list);
        return 0;
    }
    yolo_error_clear(); // a missing or stale cache is the normal case, not an error
    int rc = scan_check_listing(cfg, &list, NULL, out, warnings);
    path_list_free(&list);
    // No label folder (a dataset of backgrounds, or labels elsewhere): no place for a cache, and
    // creating one would be a surprise.
    char cache_dir[DATASET_PATH_CAP];
    path_parent(cache, cache_dir, sizeof cache_dir);
    if (rc == 0 && out->n > 0 && cacheable && path_is_dir(cache_dir) &&
        label_cache_save(cache, cache_key, out, warnings->items, warnings->n) != 0) {
        fprintf(stderr, "warning: %s; the next scan will read every file again\n", yolo_error());
        yolo_error_clear();
    }
    return rc;
}

int dataset_scan(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out) {
    memset(out, 0, sizeof *out);
    if ((int)split < 0 || split >= SPLIT_COUNT) return yolo_fail("dataset_scan: split %d does not exist", (int)split);
    const char *key = DATASET_SPLIT_KEYS[split];
    if (cfg->n_sources[split] == 0 && cfg->classify)
        return yolo_fail("%s: the dataset has no `%s` split; add a %s/ folder with class folders to %s", key, key, key, cfg->root);
    if (cfg->n_sources[split] == 0)
        return yolo_fail("%s: the dataset has no `%s` split; add %s: images/%s to %s", key, key, key, key, cfg->yaml_path);
    ScanWarnings warnings = {0};
    int rc = cfg->classify ? dataset_classify_scan(cfg, split, out, &warnings) : scan_labelled(cfg, split, out, &warnings);
    scan_warnings_print(&warnings);
    scan_warnings_free(&warnings);
    if (rc == 0 && out->n == 0) rc = fail_no_usable(cfg, split, out);
    if (rc == 0) rc = split_fingerprint(cfg, out);
    if (rc != 0) {
        dataset_split_free(out);
        return -1;
    }
    set_has_polygons(out);
    const ScanSummary *s = &out->summary;
    if (cfg->classify) {
        printf("%s: %d images in %d classes, %d corrupt\n", key, s->images_kept, cfg->nc, s->bad_images);
    } else {
        char label_dir[DATASET_PATH_CAP] = "";
        if (s->instances == 0 && label_path_for(out->image_paths[0], label_dir, sizeof label_dir) == 0)
            fprintf(stderr, "warning: %s: no labels found (looked for files such as %s); every image is a background\n", key,
                    label_dir);
        printf("%s: %d images, %d backgrounds, %d corrupt%s\n", key, s->images_kept, s->backgrounds, corrupt_count(s),
               s->from_cache ? " (from the label cache)" : "");
    }
    fflush(stdout);
    return 0;
}

void dataset_split_free(DatasetSplit *s) {
    for (int i = 0; s->image_paths && i < s->n; i++) free(s->image_paths[i]);
    for (int i = 0; s->labels && i < s->n; i++) labels_free(&s->labels[i]);
    free(s->image_paths);
    free(s->width);
    free(s->height);
    free(s->labels);
    free(s->class_index);
    memset(s, 0, sizeof *s);
}
