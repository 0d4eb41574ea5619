// Unpacking downloaded datasets (data/unzip.h) from zips built here with libzip: Ultralytics'
// layout rule, skipped macOS metadata, unsafe or damaged zips refused with nothing left in the
// datasets directory, a write failing halfway, and a mutation fuzz of the whole unpack path.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "core/rng.h"
#include "data/unzip.h"
#include "file_util.h"
#include "scratch.h"
#include "test.h"

enum { CAP = 4096 };

typedef struct {
    const char *name;  // a name ending in '/' is a folder entry
    const char *data;  // NULL: empty
    size_t len;        // 0: strlen(data)
    bool stored;       // no compression, so the bytes appear as they are in the zip
    bool symlink;      // marked as a Unix symbolic link
} Item;

// Writes a zip of `items` with libzip; false (and a test failure) if libzip refuses.
static bool make_zip(const char *path, const Item *items, int n) {
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) {
        test_fail(__FILE__, __LINE__, "zip_open %s: error %d", path, err);
        return false;
    }
    for (int i = 0; i < n; i++) {
        const Item *it = &items[i];
        size_t len = it->len ? it->len : it->data ? strlen(it->data) : 0;
        zip_int64_t index;
        if (it->name[strlen(it->name) - 1] == '/') {
            index = zip_dir_add(z, it->name, ZIP_FL_ENC_UTF_8);
        } else {
            zip_source_t *src = zip_source_buffer(z, it->data ? it->data : "", len, 0);
            index = src ? zip_file_add(z, it->name, src, ZIP_FL_ENC_UTF_8) : -1;
            if (index < 0 && src) zip_source_free(src);
        }
        if (index < 0 || (it->stored && zip_set_file_compression(z, (zip_uint64_t)index, ZIP_CM_STORE, 0) != 0) ||
            (it->symlink && zip_file_set_external_attributes(z, (zip_uint64_t)index, 0, ZIP_OPSYS_UNIX,
                                                              (zip_uint32_t)(S_IFLNK | 0777) << 16) != 0)) {
            test_fail(__FILE__, __LINE__, "adding %s to %s: %s", it->name, path, zip_strerror(z));
            zip_discard(z);
            return false;
        }
    }
    if (zip_close(z) != 0) {
        test_fail(__FILE__, __LINE__, "zip_close %s: %s", path, zip_strerror(z));
        zip_discard(z);
        return false;
    }
    return true;
}

static bool file_is(const char *path, const char *want) {
    size_t len;
    char *got = test_file_read(path, &len);
    bool same = got && len == strlen(want) && !memcmp(got, want, len);
    free(got);
    return same;
}

// A scratch folder holding a datasets directory "<dir>/datasets" and the zip "<dir>/in.zip".
typedef struct {
    char dir[CAP], datasets[CAP + 16], zip[CAP + 16], root[CAP];
    UnzipStats stats;
} Setup;

static bool setup(Setup *s, const char *tag) {
    memset(s, 0, sizeof *s);
    if (!scratch_make(s->dir, sizeof s->dir, tag)) return false;
    snprintf(s->datasets, sizeof s->datasets, "%s/datasets", s->dir);
    snprintf(s->zip, sizeof s->zip, "%s/in.zip", s->dir);
    return mkdir(s->datasets, 0777) == 0;
}

static int unzip(Setup *s) {
    return unzip_dataset(s->zip, "in.zip", s->datasets, "in", NULL, NULL, s->root, sizeof s->root, &s->stats);
}

static void expect_path(const Setup *s, const char *rel, const char *content) {
    char path[2 * CAP];
    snprintf(path, sizeof path, "%s/%s", s->datasets, rel);
    if (!file_is(path, content)) test_fail(__FILE__, __LINE__, "%s does not hold \"%s\"", path, content);
}

// ---------------------------------------------------------------------------------------------
// Layout

TEST(unzip_one_top_folder_becomes_the_dataset_folder) {
    Setup s;
    if (!setup(&s, "unzip-top")) return;
    Item items[] = {{.name = "mini/"},
                    {.name = "mini/images/train/a.jpg", .data = "jpeg bytes"},
                    {.name = "mini/labels/train/a.txt", .data = "0 0.5 0.5 0.1 0.1\n"},
                    {.name = "__MACOSX/mini/._a.jpg", .data = "finder"},
                    {.name = "mini/.DS_Store", .data = "finder"},
                    {.name = "./mini/images/val/b.jpg", .data = "more bytes", .stored = true}};
    if (make_zip(s.zip, items, 6)) {
        EXPECT_OK(unzip(&s));
        char first[256] = "";
        EXPECT(test_folder_entries(s.datasets, first, sizeof first) == 1 && !strcmp(first, "mini"));
        char want[2 * CAP];
        snprintf(want, sizeof want, "%s/mini", s.datasets);
        EXPECT(!strcmp(s.root, want));
        expect_path(&s, "mini/images/train/a.jpg", "jpeg bytes");
        expect_path(&s, "mini/labels/train/a.txt", "0 0.5 0.5 0.1 0.1\n");
        expect_path(&s, "mini/images/val/b.jpg", "more bytes");
        char macos[2 * CAP];
        snprintf(macos, sizeof macos, "%s/mini/.DS_Store", s.datasets);
        EXPECT(access(macos, F_OK) != 0);
        EXPECT(s.stats.files == 3 && s.stats.bytes == 10 + 18 + 10);
    }
    scratch_remove(s.dir);
}

TEST(unzip_loose_files_go_into_a_folder_named_after_the_zip) {
    Setup s;
    if (!setup(&s, "unzip-loose")) return;
    Item items[] = {{.name = "images/a.jpg", .data = "a"}, {.name = "labels/a.txt", .data = "b"}, {.name = "README", .data = "c"}};
    if (make_zip(s.zip, items, 3)) {
        EXPECT_OK(unzip(&s));
        char first[256] = "";
        EXPECT(test_folder_entries(s.datasets, first, sizeof first) == 1 && !strcmp(first, "in"));
        expect_path(&s, "in/images/a.jpg", "a");
        expect_path(&s, "in/labels/a.txt", "b");
        expect_path(&s, "in/README", "c");
    }
    scratch_remove(s.dir);
}

TEST(unzip_leaves_an_existing_dataset_folder_alone) {
    Setup s;
    if (!setup(&s, "unzip-exists")) return;
    Item items[] = {{.name = "mini/a.txt", .data = "new"}};
    char mine[2 * CAP], keep[3 * CAP];
    snprintf(mine, sizeof mine, "%s/mini", s.datasets);
    snprintf(keep, sizeof keep, "%s/keep.txt", mine);
    if (make_zip(s.zip, items, 1) && mkdir(mine, 0777) == 0 && test_file_write(keep, "mine", 4)) {
        EXPECT_FAILS_WITH(unzip(&s), "already exists and is not an empty folder");
        EXPECT(file_is(keep, "mine") && test_folder_entries(mine, NULL, 0) == 1);
        EXPECT(test_folder_entries(s.datasets, NULL, 0) == 1); // no temporary folder left
        // An empty folder of that name is replaced.
        remove(keep);
        EXPECT_OK(unzip(&s));
        expect_path(&s, "mini/a.txt", "new");
    }
    scratch_remove(s.dir);
}

// ---------------------------------------------------------------------------------------------
// Refused zips: nothing is written anywhere

static void expect_refused(const char *tag, const Item *items, int n, const char *fragment) {
    Setup s;
    if (!setup(&s, tag)) return;
    if (make_zip(s.zip, items, n)) {
        EXPECT_FAILS_WITH(unzip(&s), fragment);
        EXPECT(test_folder_entries(s.datasets, NULL, 0) == 0);
        EXPECT(test_folder_entries(s.dir, NULL, 0) == 2); // datasets/ and in.zip: nothing escaped
    }
    scratch_remove(s.dir);
}

TEST(unzip_refuses_entries_that_climb_out) {
    Item climb[] = {{.name = "ds/a.txt", .data = "a"}, {.name = "../evil.txt", .data = "x"}};
    expect_refused("unzip-dotdot", climb, 2, "climbs out of its folder");
    Item inner[] = {{.name = "ds/a.txt", .data = "a"}, {.name = "ds/../../evil.txt", .data = "x"}};
    expect_refused("unzip-inner", inner, 2, "\"ds/../../evil.txt\" climbs out");
    Item absolute[] = {{.name = "ds/a.txt", .data = "a"}, {.name = "/tmp/evil.txt", .data = "x"}};
    expect_refused("unzip-abs", absolute, 2, "is an absolute path");
}

TEST(unzip_refuses_links_and_duplicates) {
    Item link[] = {{.name = "ds/a.txt", .data = "a"}, {.name = "ds/passwd", .data = "/etc/passwd", .symlink = true}};
    expect_refused("unzip-link", link, 2, "is a symbolic link");
    // Two names for one path: the second would overwrite the first.
    Item twice[] = {{.name = "ds/a.txt", .data = "a"}, {.name = "ds/./a.txt", .data = "b"}};
    expect_refused("unzip-twice", twice, 2, "holds \"ds/a.txt\" twice");
    Item clash[] = {{.name = "ds/a", .data = "a file"}, {.name = "ds/a/b.txt", .data = "under it"}};
    expect_refused("unzip-clash", clash, 2, "cannot create folder");
    Item empty[] = {{.name = "__MACOSX/._x", .data = "a"}};
    expect_refused("unzip-empty", empty, 1, "the zip holds no files");
}

TEST(unzip_refuses_damaged_zips) {
    Setup s;
    if (!setup(&s, "unzip-damaged")) return;
    const char *payload = "PAYLOAD-PAYLOAD-PAYLOAD-PAYLOAD";
    Item items[] = {{.name = "ds/a.txt", .data = "first"}, {.name = "ds/b.txt", .data = payload, .stored = true}};
    size_t len = 0;
    char *good = make_zip(s.zip, items, 2) ? test_file_read(s.zip, &len) : NULL;
    EXPECT(good != NULL && len > 0);
    if (good) {
        // A flipped byte in stored data: only the CRC can tell.
        char *hit = NULL;
        for (size_t i = 0; !hit && i + strlen(payload) <= len; i++)
            if (!memcmp(good + i, payload, strlen(payload))) hit = good + i;
        EXPECT(hit != NULL);
        if (hit) {
            hit[3] ^= 0x20;
            EXPECT(test_file_write(s.zip, good, len));
            EXPECT_FAILS_WITH(unzip(&s), "\"ds/b.txt\" is damaged");
            EXPECT(test_folder_entries(s.datasets, NULL, 0) == 0);
            hit[3] ^= 0x20;
        }
        // Cut short, as an interrupted transfer leaves it (the central directory is at the end).
        EXPECT(test_file_write(s.zip, good, len / 2));
        EXPECT_FAILS_WITH(unzip(&s), "is not a valid zip archive");
        EXPECT(test_folder_entries(s.datasets, NULL, 0) == 0);
        // Not a zip at all: an HTML error page served with status 200.
        const char *html = "<html><body>404 Not Found</body></html>";
        EXPECT(test_file_write(s.zip, html, strlen(html)));
        EXPECT_FAILS_WITH(unzip(&s), "is not a valid zip archive");
        EXPECT(test_file_write(s.zip, "", 0));
        EXPECT_FAILS_WITH(unzip(&s), "is not a valid zip archive");
        EXPECT(test_folder_entries(s.datasets, NULL, 0) == 0);
    }
    free(good);
    scratch_remove(s.dir);
}

// A write that fails halfway (here the file size limit; a full disk behaves the same) removes
// everything written so far.
TEST(unzip_failed_write_leaves_nothing) {
    Setup s;
    if (!setup(&s, "unzip-write")) return;
    enum { BIG = 200 * 1024 };
    char *big = malloc(BIG);
    EXPECT(big != NULL);
    if (big) {
        for (int i = 0; i < BIG; i++) big[i] = (char)rng_u32(5, 0, (uint64_t)i);
        Item items[] = {{.name = "ds/small.txt", .data = "a"}, {.name = "ds/big.bin", .data = big, .len = BIG}};
        struct rlimit old;
        if (make_zip(s.zip, items, 2) && getrlimit(RLIMIT_FSIZE, &old) == 0) {
            struct rlimit low = {.rlim_cur = 64 * 1024, .rlim_max = old.rlim_max};
            void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN); // the write fails with EFBIG instead
            int rc = setrlimit(RLIMIT_FSIZE, &low) == 0 ? unzip(&s) : 0;
            setrlimit(RLIMIT_FSIZE, &old);
            signal(SIGXFSZ, old_xfsz);
            EXPECT(rc != 0 && strstr(yolo_error(), "big.bin") && strstr(yolo_error(), strerror(EFBIG)));
            yolo_error_clear();
            EXPECT(test_folder_entries(s.datasets, NULL, 0) == 0);
        }
    }
    free(big);
    scratch_remove(s.dir);
}

TEST(disk_space_check_says_what_is_needed) {
    EXPECT_OK(disk_space_check("/tmp", 1, "one byte"));
    EXPECT_FAILS_WITH(disk_space_check("/tmp", 1ull << 60, "the zip and its unpacked files"),
                      "not enough disk space in /tmp: the zip and its unpacked files needs 1.00EB");
}

TEST(unzip_removes_stale_temporary_folders) {
    Setup s;
    if (!setup(&s, "unzip-stale")) return;
    // pid 0x7fffffff is above Linux's pid_max: no process has it.
    char stale[2 * CAP], live[2 * CAP], other[2 * CAP];
    snprintf(stale, sizeof stale, "%s/in.unzip-2147483647", s.datasets);
    snprintf(live, sizeof live, "%s/in.unzip-1", s.datasets); // init runs
    snprintf(other, sizeof other, "%s/in.unzip-x", s.datasets);
    EXPECT(mkdir(stale, 0777) == 0 && mkdir(live, 0777) == 0 && mkdir(other, 0777) == 0);
    unzip_remove_stale(s.datasets, "in");
    EXPECT(access(stale, F_OK) != 0 && access(live, F_OK) == 0 && access(other, F_OK) == 0);
    scratch_remove(s.dir);
}

// ---------------------------------------------------------------------------------------------
// Fuzz: mutated zips unpack whole or not at all

static uint32_t draw(RngCursor *c) { return rng_u32(c->seed, c->stream, c->next++); }

static size_t mutate(uint8_t *b, size_t len, RngCursor *c) {
    int rounds = 1 + (int)(draw(c) % 3);
    for (int r = 0; r < rounds && len > 0; r++) {
        size_t pos = draw(c) % len;
        switch (draw(c) % 5) {
        case 0: b[pos] ^= (uint8_t)(1u << draw(c) % 8); break;
        case 1: b[pos] = (uint8_t)draw(c); break;
        case 2: { // a boundary value: sizes, offsets and counts are where parsers break
            static const uint8_t edge[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
            b[pos] = edge[draw(c) % sizeof edge];
            break;
        }
        case 3: len = draw(c) % (len + 1); break; // truncate
        default: { // delete a run
            size_t k = 1 + draw(c) % 32;
            if (pos + k > len) k = len - pos;
            memmove(b + pos, b + pos + k, len - pos - k);
            len -= k;
        }
        }
    }
    return len;
}

TEST(fuzz_unzip_mutated_zips) {
    Setup s;
    if (!setup(&s, "unzip-fuzz")) return;
    Item items[] = {{.name = "ds/"},
                    {.name = "ds/images/train/a.jpg", .data = "JPEG JPEG JPEG JPEG JPEG JPEG"},
                    {.name = "ds/labels/train/a.txt", .data = "0 0.5 0.5 0.25 0.25\n1 0.1 0.2 0.3 0.4\n", .stored = true},
                    {.name = "ds/images/val/b.png", .data = "PNG PNG PNG"}};
    size_t len = 0;
    uint8_t *good = make_zip(s.zip, items, 4) ? (uint8_t *)test_file_read(s.zip, &len) : NULL;
    uint8_t *buf = malloc(len + 1);
    EXPECT(good && buf);
    int unpacked = 0, refused = 0;
    for (int i = 0; good && buf && i < 400; i++) {
        RngCursor c = rng_cursor(2024, (uint64_t)i);
        memcpy(buf, good, len);
        size_t n = mutate(buf, len, &c);
        if (!test_file_write(s.zip, buf, n)) {
            test_fail(__FILE__, __LINE__, "cannot write %s", s.zip);
            break;
        }
        yolo_error_clear();
        char first[256] = "";
        if (unzip(&s) == 0) {
            // Whole: one folder in the datasets directory, no temporary one beside it.
            unpacked++;
            if (test_folder_entries(s.datasets, first, sizeof first) != 1 || strstr(first, ".unzip-"))
                test_fail(__FILE__, __LINE__, "mutation %d: unpacked, but the datasets directory holds %d entries (%s)", i,
                          test_folder_entries(s.datasets, NULL, 0), first);
            char root[2 * CAP];
            snprintf(root, sizeof root, "%s/%s", s.datasets, first);
            scratch_remove(root);
        } else {
            refused++;
            if (!yolo_error()[0]) test_fail(__FILE__, __LINE__, "mutation %d: refused without a message", i);
            if (test_folder_entries(s.datasets, NULL, 0) != 0)
                test_fail(__FILE__, __LINE__, "mutation %d: refused (%s) but left files behind", i, yolo_error());
        }
        yolo_error_clear();
        if (test_folder_entries(s.dir, NULL, 0) != 2) test_fail(__FILE__, __LINE__, "mutation %d: wrote outside datasets/", i);
    }
    // Both outcomes occur: the fuzz reaches past the first check.
    EXPECT(unpacked > 0 && refused > 0);
    free(good);
    free(buf);
    scratch_remove(s.dir);
}
