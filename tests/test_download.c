// Datasets from the network, without the network: which `download:` values are accepted, and the
// dataset YAML hook up to the first byte fetched (present datasets are not fetched, a refused
// connection names the file, line and URL). Fetching over HTTP runs against a local server in
// tests/cli/download.sh; unpacking is tests/test_unzip.c.
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/download.h"
#include "data/progress_bar.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

enum { CAP = 4096 };

// ---------------------------------------------------------------------------------------------
// download: values

TEST(download_zip_stem_takes_http_zip_urls) {
    char stem[256];
    EXPECT_OK(download_zip_stem("https://github.com/ultralytics/assets/releases/download/v0.0.0/coco8.zip", stem, sizeof stem));
    EXPECT(!strcmp(stem, "coco8"));
    EXPECT_OK(download_zip_stem("HTTP://127.0.0.1:8000/a%20b.ZIP?token=1#x", stem, sizeof stem));
    EXPECT(!strcmp(stem, "a b"));
    EXPECT_OK(download_zip_stem("http://host/coco128-seg.zip", stem, sizeof stem));
    EXPECT(!strcmp(stem, "coco128-seg"));
}

TEST(download_zip_stem_refuses_what_is_not_a_zip_url) {
    char stem[256];
    EXPECT_FAILS_WITH(download_zip_stem("from ultralytics.utils.downloads import download\ndownload(urls)", stem, sizeof stem),
                      "is Python code");
    EXPECT_FAILS_WITH(download_zip_stem("bash data/scripts/get_coco.sh", stem, sizeof stem), "is a bash command");
    EXPECT_FAILS_WITH(download_zip_stem("ftp://host/x.zip", stem, sizeof stem), "only downloads http(s) URLs of .zip files");
    EXPECT_FAILS_WITH(download_zip_stem("file:///etc/x.zip", stem, sizeof stem), "only downloads http(s) URLs");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/VOCtrainval.tar", stem, sizeof stem), "is not a .zip file");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/x.zip/", stem, sizeof stem), "is not a .zip file");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/.zip", stem, sizeof stem), "cannot name a dataset folder");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/a%2Fb.zip", stem, sizeof stem), "cannot name a dataset folder");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/%2E%2E.zip", stem, sizeof stem), "cannot name a dataset folder");
    EXPECT_FAILS_WITH(download_zip_stem("https://host/a b.zip", stem, sizeof stem), "a URL has no spaces");
}

// ---------------------------------------------------------------------------------------------
// The dataset YAML hook, with no server: what happens before any byte is fetched

static bool write_yaml(const char *path, const char *root, const char *download) {
    char text[1024];
    int n = snprintf(text, sizeof text, "path: %s\ntrain: images/train\nval: images/val\nnames: [a, b]\ndownload: %s\n", root,
                     download);
    return test_file_write(path, text, (size_t)n);
}

TEST(dataset_yaml_download_only_when_val_is_missing) {
    char dir[CAP], yaml[CAP + 16], datasets[CAP + 16], val[CAP + 64];
    if (!scratch_make(dir, sizeof dir, "dl-yaml")) return;
    snprintf(yaml, sizeof yaml, "%s/d.yaml", dir);
    snprintf(datasets, sizeof datasets, "%s/datasets", dir);
    // The refused connection must be ours, not a proxy's answer.
    const char *saved = getenv("no_proxy");
    char *saved_copy = saved ? strdup(saved) : NULL;
    setenv("no_proxy", "127.0.0.1", 1);
    DatasetConfig cfg;
    // Present: the URL (nothing listens on port 1) is never contacted.
    snprintf(val, sizeof val, "%s/here/images/val", datasets);
    char train[CAP + 64];
    snprintf(train, sizeof train, "%s/here/images/train", datasets);
    char cmd[3 * CAP];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s'", val, train);
    EXPECT(system(cmd) == 0);
    EXPECT(write_yaml(yaml, "here", "http://127.0.0.1:1/here.zip"));
    EXPECT_OK(dataset_config_load(yaml, datasets, false, &cfg));
    dataset_config_free(&cfg);
    // Missing: a refused connection fails with the file, the line and the URL.
    EXPECT(write_yaml(yaml, "gone", "http://127.0.0.1:1/gone.zip"));
    EXPECT_FAILS_WITH(dataset_config_load(yaml, datasets, false, &cfg), "d.yaml:5: downloading http://127.0.0.1:1/gone.zip failed");
    char first[256] = "";
    // A datasets directory that the failed download created is removed again.
    char fresh[CAP + 16];
    snprintf(fresh, sizeof fresh, "%s/fresh", dir);
    EXPECT_FAILS_WITH(dataset_config_load(yaml, fresh, false, &cfg), "Nothing was left in");
    EXPECT(test_folder_entries(dir, NULL, 0) == 2); // d.yaml and datasets/
    EXPECT(test_folder_entries(datasets, first, sizeof first) == 1 && !strcmp(first, "here"));
    // Python code is named as such.
    EXPECT(write_yaml(yaml, "gone", "|\n  import os\n  os.system('x')"));
    EXPECT_FAILS_WITH(dataset_config_load(yaml, datasets, false, &cfg), "`download: import os...` is Python code");
    EXPECT(write_yaml(yaml, "gone", "[http://127.0.0.1:1/a.zip]"));
    EXPECT_FAILS_WITH(dataset_config_load(yaml, datasets, false, &cfg), "d.yaml:5: `download` must be a URL, got a list");
    if (saved_copy) setenv("no_proxy", saved_copy, 1);
    else unsetenv("no_proxy");
    free(saved_copy);
    scratch_remove(dir);
}

// The shipped coco YAMLs: 80 classes, the dataset folder their zip's top folder names, and a
// download: URL this program accepts. The folders are made here, so nothing is fetched.
TEST(shipped_coco_yamls_load) {
    static const struct {
        const char *name, *val;
    } yamls[] = {{"coco8", "images/val"}, {"coco128", "images/train2017"}, {"coco8-seg", "images/val"},
                 {"coco128-seg", "images/train2017"}};
    char dir[CAP];
    if (!scratch_make(dir, sizeof dir, "dl-coco")) return;
    for (size_t i = 0; i < sizeof yamls / sizeof *yamls; i++) {
        char cmd[3 * CAP], yaml[64];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s/images/train' '%s/%s/%s'", dir, yamls[i].name, dir, yamls[i].name,
                 yamls[i].val);
        EXPECT(system(cmd) == 0);
        snprintf(yaml, sizeof yaml, "%s.yaml", yamls[i].name);
        DatasetConfig cfg;
        EXPECT_OK(dataset_config_load(yaml, dir, false, &cfg));
        EXPECT(cfg.nc == 80 && cfg.names && !strcmp(cfg.names[0], "person") && !strcmp(cfg.names[79], "toothbrush"));
        char root[2 * CAP], stem[256];
        snprintf(root, sizeof root, "%s/%s", dir, yamls[i].name);
        EXPECT(!strcmp(cfg.root, root));
        // The URL as the file has it.
        const char *url = cfg.text ? strstr(cfg.text, "\ndownload: ") : NULL;
        EXPECT(url != NULL);
        if (url) {
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)strcspn(url + 11, "\n"), url + 11);
            EXPECT_OK(download_zip_stem(line, stem, sizeof stem));
            EXPECT(!strcmp(stem, yamls[i].name));
            EXPECT(!strncmp(line, "https://github.com/ultralytics/assets/releases/download/", 56));
        }
        dataset_config_free(&cfg);
    }
    scratch_remove(dir);
}

// The pieces of the progress lines, as tqdm writes them.
TEST(progress_bar_pieces_look_like_tqdm) {
    char s[64];
    pb_size(812, s, sizeof s);
    EXPECT(!strcmp(s, "812"));
    pb_size(61188, s, sizeof s); // 59.75 KiB
    EXPECT(!strcmp(s, "59.8k"));
    pb_size(443392, s, sizeof s);
    EXPECT(!strcmp(s, "433k"));
    pb_size(1023 * 1024, s, sizeof s); // would be "1023k": one unit up instead
    EXPECT(!strcmp(s, "1.00M"));
    pb_size(1.26e6, s, sizeof s);
    EXPECT(!strcmp(s, "1.20M"));
    pb_clock(7.4, s, sizeof s);
    EXPECT(!strcmp(s, "00:07"));
    pb_clock(3723, s, sizeof s);
    EXPECT(!strcmp(s, "1:02:03"));
    pb_bar(0.45, s, sizeof s);
    EXPECT(!strcmp(s, " 45%|████▌     |"));
    pb_bar(1.0, s, sizeof s);
    EXPECT(!strcmp(s, "100%|██████████|"));
    pb_bar(-1.0, s, sizeof s);
    EXPECT(!strcmp(s, "  0%|          |"));
}
