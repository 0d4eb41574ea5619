// predict's source= (src/data/source.h): a file, a folder, a glob and a .txt list, expanded and
// filtered as Ultralytics' LoadImagesAndVideos does; and the sources that are errors.
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/source.h"
#include "scratch.h"
#include "test.h"

static void touch(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static bool ends(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

// dir holds b.jpg, a.png, C.JPG, notes.txt, clip.mp4, .hidden.jpg, noext and sub/d.jpg.
static bool make_tree(char *dir, size_t cap) {
    if (!scratch_make(dir, cap, "source")) return false;
    const char *files[] = {"b.jpg", "a.png", "C.JPG", "notes.txt", "clip.mp4", ".hidden.jpg", "noext"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) touch(dir, files[i]);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    touch(sub, "d.jpg");
    return true;
}

TEST(source_folder_lists_its_images_sorted_and_absolute) {
    char dir[256];
    if (!make_tree(dir, sizeof dir)) return;
    SourceList s;
    EXPECT_OK(source_expand(dir, &s));
    // Sorted by bytes (upper case first); not the hidden file, the video, other files, subfolders.
    EXPECT(s.n == 3);
    if (s.n == 3) {
        EXPECT(ends(s.paths[0], "/C.JPG") && ends(s.paths[1], "/a.png") && ends(s.paths[2], "/b.jpg"));
        EXPECT(s.paths[0][0] == '/' && !strncmp(s.paths[0], dir, strlen(dir)));
    }
    source_list_free(&s);
    scratch_remove(dir);
}

TEST(source_file_glob_and_relative_paths) {
    char dir[256], path[512], cwd[1024];
    if (!make_tree(dir, sizeof dir)) return;
    SourceList s;
    snprintf(path, sizeof path, "%s/b.jpg", dir);
    EXPECT_OK(source_expand(path, &s));
    EXPECT(s.n == 1 && !strcmp(s.paths[0], path));
    source_list_free(&s);
    snprintf(path, sizeof path, "%s/*.jpg", dir);
    EXPECT_OK(source_expand(path, &s));
    EXPECT(s.n == 1 && ends(s.paths[0], "/b.jpg")); // the glob is case-sensitive; hidden files stay out
    source_list_free(&s);
    // Relative to the current folder, made absolute without "./".
    if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
        EXPECT_OK(source_expand("./sub/d.jpg", &s));
        snprintf(path, sizeof path, "%s/sub/d.jpg", dir);
        EXPECT(s.n == 1 && !strcmp(s.paths[0], path));
        source_list_free(&s);
        EXPECT(chdir(cwd) == 0);
    }
    scratch_remove(dir);
}

TEST(source_txt_list_sorts_lines_and_resolves_them_against_its_folder) {
    char dir[256], list[512];
    if (!make_tree(dir, sizeof dir)) return;
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    if (!f) return;
    // Lines relative to the list's folder (not the current one), a folder, blank lines; sorted.
    fprintf(f, "sub\nb.jpg\n\n  a.png  \n");
    fclose(f);
    SourceList s;
    EXPECT_OK(source_expand(list, &s));
    EXPECT(s.n == 3);
    if (s.n == 3) EXPECT(ends(s.paths[0], "/a.png") && ends(s.paths[1], "/b.jpg") && ends(s.paths[2], "/sub/d.jpg"));
    source_list_free(&s);
    f = fopen(list, "w");
    if (f) {
        fprintf(f, "b.jpg\nmissing.jpg\n");
        fclose(f);
    }
    EXPECT_FAILS_WITH(source_expand(list, &s), "missing.jpg does not exist");
    scratch_remove(dir);
}

TEST(source_errors_name_the_problem) {
    char dir[256], path[512];
    if (!make_tree(dir, sizeof dir)) return;
    SourceList s;
    EXPECT_FAILS_WITH(source_expand("", &s), "source= is empty");
    snprintf(path, sizeof path, "%s/nope.jpg", dir);
    EXPECT_FAILS_WITH(source_expand(path, &s), "nope.jpg does not exist");
    snprintf(path, sizeof path, "%s/sub/*.png", dir);
    EXPECT_FAILS_WITH(source_expand(path, &s), "no images found");
    snprintf(path, sizeof path, "%s/clip.mp4", dir);
    EXPECT_FAILS_WITH(source_expand(path, &s), "only videos");
    snprintf(path, sizeof path, "%s/empty", dir);
    mkdir(path, 0755);
    EXPECT_FAILS_WITH(source_expand(path, &s), "no images found");
    touch(path, "x.bmp");
    EXPECT_FAILS_WITH(source_expand(path, &s), "x.bmp is an image format this build does not read");
    EXPECT(s.n == 0 && s.paths == NULL);
    scratch_remove(dir);
}
