// io/path.h (lexical paths, suffixes, path lists) and io/config_dir.h (where the shipped model and
// dataset YAMLs are read: YOLO_CONFIG_DIR, else the installed copy, else the source tree).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config_dir.h"
#include "io/path.h"
#include "test.h"

TEST(path_absolute_tidies_lexically) {
    char out[256], cwd[200], want[256];
    EXPECT_OK(path_absolute("/a//b/./c/", out, sizeof out));
    EXPECT(!strcmp(out, "/a/b/c"));
    EXPECT_OK(path_absolute("/a/../b", out, sizeof out)); // ".." stays: only the kernel knows it
    EXPECT(!strcmp(out, "/a/../b"));
    EXPECT_OK(path_absolute("/", out, sizeof out));
    EXPECT(!strcmp(out, "/"));
    if (getcwd(cwd, sizeof cwd)) {
        EXPECT_OK(path_absolute("./x/y", out, sizeof out));
        snprintf(want, sizeof want, "%s/x/y", strcmp(cwd, "/") ? cwd : "");
        EXPECT(!strcmp(out, want));
    }
    EXPECT_OK(path_join("/data", "/abs/p", out, sizeof out)); // an absolute part wins, as in pathlib
    EXPECT(!strcmp(out, "/abs/p"));
    EXPECT_OK(path_join("/data/", "sets/./coco", out, sizeof out));
    EXPECT(!strcmp(out, "/data/sets/coco"));
    EXPECT_FAILS_WITH(path_absolute("/a/long/path", out, 8), "path too long");
    path_parent("a/b.txt", out, sizeof out);
    EXPECT(!strcmp(out, "a"));
    path_parent("b.txt", out, sizeof out);
    EXPECT(!strcmp(out, "."));
    path_parent("/b.txt", out, sizeof out);
    EXPECT(!strcmp(out, "/"));
}

TEST(path_suffix_and_lists) {
    static const char *const IMAGES[] = {"jpg", "png"};
    EXPECT(PATH_SUFFIX_IN("a/b.JPG", IMAGES) && PATH_SUFFIX_IN("b.png", IMAGES));
    EXPECT(!PATH_SUFFIX_IN("a.jpg/b", IMAGES) && !PATH_SUFFIX_IN("jpg", IMAGES) && !PATH_SUFFIX_IN("b.jpeg", IMAGES));
    PathList l = {0};
    const char *names[] = {"b", "a/c", "B", "a"};
    for (int i = 0; i < 4; i++) EXPECT_OK(path_list_push(&l, names[i]));
    path_list_sort(&l); // bytes: upper case first, as Python sorts str
    EXPECT(l.n == 4 && !strcmp(l.items[0], "B") && !strcmp(l.items[1], "a") && !strcmp(l.items[2], "a/c") &&
           !strcmp(l.items[3], "b"));
    path_list_free(&l);
    EXPECT(l.n == 0 && l.items == NULL);
}

TEST(config_dir_takes_yolo_config_dir_first) {
    const char *before = getenv("YOLO_CONFIG_DIR");
    char *saved = before ? strdup(before) : NULL;
    char models[256];
    setenv("YOLO_CONFIG_DIR", "/somewhere/configs", 1);
    EXPECT(!strcmp(config_dir(), "/somewhere/configs") && !strcmp(config_dir_origin(), "YOLO_CONFIG_DIR"));
    EXPECT_OK(config_subdir("models", models, sizeof models));
    EXPECT(!strcmp(models, "/somewhere/configs/models"));
    EXPECT_FAILS_WITH(config_subdir("models", models, 10), "set YOLO_CONFIG_DIR to a shorter one");
    // Empty counts as unset; then the installed copy or, in a build that is not installed, the
    // source tree's configs/, which holds the shipped models either way.
    setenv("YOLO_CONFIG_DIR", "", 1);
    EXPECT(strcmp(config_dir_origin(), "YOLO_CONFIG_DIR") != 0);
    EXPECT_OK(config_subdir("models", models, sizeof models));
    EXPECT(path_is_dir(models));
    if (saved) setenv("YOLO_CONFIG_DIR", saved, 1);
    else unsetenv("YOLO_CONFIG_DIR");
    free(saved);
}
