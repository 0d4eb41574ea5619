// Deterministic mutation fuzzing of everything that reads untrusted files: valid PNG, JPEG and
// label files get seeded random bit flips, byte changes, truncations, insertions and deletions,
// and the parsers must either succeed with a sane result or fail cleanly with a message. Under
// the sanitizers this also checks memory safety. (tests/fuzz/ has coverage-guided versions.)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/image.h"
#include "data/labels.h"
#include "file_util.h"
#include "fuzz/png_fixup.h"
#include "scratch.h"
#include "test.h"

static uint32_t draw(RngCursor *c) {
    return rng_u32(c->seed, c->stream, c->next++);
}

// Applies 1..4 mutations to buf[0..len) (capacity cap) and returns the new length. With an
// alphabet, changed and inserted bytes come from it (label files: digits, signs, separators).
static size_t mutate(uint8_t *buf, size_t len, size_t cap, const char *alphabet, RngCursor *c) {
    size_t n_alpha = alphabet ? strlen(alphabet) : 0;
    int rounds = 1 + (int)(draw(c) % 4);
    for (int r = 0; r < rounds; r++) {
        uint32_t kind = draw(c) % 6, pos = len ? draw(c) % (uint32_t)len : 0;
        uint8_t byte = alphabet ? (uint8_t)alphabet[draw(c) % n_alpha] : (uint8_t)draw(c);
        switch (kind) {
        case 0: // flip a bit
            if (len) buf[pos] ^= (uint8_t)(1u << draw(c) % 8);
            break;
        case 1: // replace a byte
            if (len) buf[pos] = byte;
            break;
        case 2: { // a boundary value, which length and size fields are most sensitive to
            static const uint8_t edge[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
            if (len) buf[pos] = alphabet ? byte : edge[draw(c) % sizeof edge];
            break;
        }
        case 3: // truncate
            len = draw(c) % (len + 1);
            break;
        case 4: { // insert up to 8 bytes
            size_t k = 1 + draw(c) % 8;
            if (len + k > cap) break;
            memmove(buf + pos + k, buf + pos, len - pos);
            for (size_t i = 0; i < k; i++) buf[pos + i] = alphabet ? (uint8_t)alphabet[draw(c) % n_alpha] : (uint8_t)draw(c);
            len += k;
            break;
        }
        default: { // delete up to 16 bytes
            size_t k = len ? 1 + draw(c) % 16 : 0;
            if (pos + k > len) k = len - pos;
            memmove(buf + pos, buf + pos + k, len - pos - k);
            len -= k;
            break;
        }
        }
    }
    return len;
}

// A small image written by our own encoders, as the seed of an image fuzz run.
static uint8_t *seed_image(bool jpeg, const char *path, size_t *len) {
    Image img;
    *len = 0;
    if (image_alloc(&img, 16, 12) != 0) return NULL;
    for (size_t i = 0; i < 16 * 12 * 3; i++) img.rgb[i] = (uint8_t)(i * 37);
    int rc = jpeg ? image_write_jpeg(path, &img, 80) : image_write_png(path, &img);
    image_free(&img);
    return rc == 0 ? test_file_read(path, len) : NULL;
}

// An APP1 segment with a big-endian Exif block saying orientation 6, so the EXIF parser is
// fuzzed too.
static const uint8_t EXIF_APP1[] = {0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0x00, 0x2a,
                                    0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00,
                                    0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void fuzz_images(bool jpeg, int iterations, uint32_t stream) {
    char dir[64], path[80];
    if (!scratch_make(dir, sizeof dir, "fuzz")) return;
    snprintf(path, sizeof path, "%s/f.img", dir);
    size_t seed_len;
    uint8_t *seed = seed_image(jpeg, path, &seed_len);
    EXPECT(seed != NULL);
    if (!seed) {
        scratch_remove(dir);
        return;
    }
    if (jpeg) { // splice the Exif segment after SOI
        uint8_t *s = malloc(seed_len + sizeof EXIF_APP1);
        if (s) {
            memcpy(s, seed, 2);
            memcpy(s + 2, EXIF_APP1, sizeof EXIF_APP1);
            memcpy(s + 2 + sizeof EXIF_APP1, seed + 2, seed_len - 2);
        }
        free(seed);
        seed = s;
        seed_len += sizeof EXIF_APP1;
        EXPECT(seed != NULL);
        if (!seed) {
            scratch_remove(dir);
            return;
        }
    }
    size_t cap = seed_len + 64;
    uint8_t *buf = malloc(cap);
    RngCursor c = rng_cursor(2024, rng_stream(RNG_TEST, stream, 0));
    int accepted = 0;
    for (int it = 0; buf && it < iterations; it++) {
        memcpy(buf, seed, seed_len);
        size_t len = mutate(buf, seed_len, cap, NULL, &c);
        if (!jpeg && it % 2) png_fix_crcs(buf, len);
        // An exact-size copy so that any read past the end is a sanitizer error.
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact) break;
        memcpy(exact, buf, len);
        Image img;
        yolo_error_clear();
        if (image_decode(exact, len, "fuzz.img", &img) == 0) {
            accepted++;
            EXPECT(img.rgb && img.w >= IMAGE_MIN_SIDE && img.h >= IMAGE_MIN_SIDE && img.w <= IMAGE_MAX_SIDE &&
                   img.h <= IMAGE_MAX_SIDE);
            // What decodes has a header-only size, and the same one.
            if (it % 4 == 0) {
                FILE *f = fopen(path, "wb");
                if (f) {
                    fwrite(exact, 1, len, f);
                    fclose(f);
                }
                int w = 0, h = 0;
                EXPECT_OK(image_read_size(path, &w, &h));
                EXPECT(w == img.w && h == img.h);
            }
            image_free(&img);
        } else if (!strstr(yolo_error(), "fuzz.img: ")) {
            test_fail(__FILE__, __LINE__, "iteration %d: message \"%s\" does not name the file", it, yolo_error());
        }
        yolo_error_clear();
        free(exact);
    }
    // The mutations are mild enough that some files survive; otherwise the run tests little.
    EXPECT(accepted > 0 && accepted < iterations);
    free(buf);
    free(seed);
    scratch_remove(dir);
}

TEST(fuzz_png_decode_never_crashes) {
    fuzz_images(false, 1500, 1);
}

TEST(fuzz_jpeg_decode_never_crashes) {
    fuzz_images(true, 1500, 2);
}

// A successful parse must give labels that keep the header's promises.
static void check_labels(const Labels *l, int nc, int it) {
    int bad = 0;
    for (int i = 0; i < l->n; i++) {
        bad += l->cls[i] < 0 || l->cls[i] >= nc;
        for (int k = 0; k < 4; k++) bad += !(l->boxes[4 * i + k] >= 0.0f && l->boxes[4 * i + k] <= 1.0f);
    }
    if (l->poly) {
        bad += l->poly[0] != 0;
        for (int i = 0; i < l->n; i++) bad += l->poly[i + 1] - l->poly[i] < 3;
        for (int p = 0; p < 2 * l->poly[l->n]; p++) bad += !(l->points[p] >= 0.0f && l->points[p] <= 1.0f);
    }
    if (bad) test_fail(__FILE__, __LINE__, "iteration %d: %d inconsistent values", it, bad);
}

TEST(fuzz_labels_parse_never_crashes) {
    const char *seeds[] = {
        "0 0.5 0.5 0.2 0.3\n3 0.1 0.2 0.05 0.06\n1 0.9 0.9 0.1 0.1\r\n",
        "1 0.1 0.2 0.5 0.2 0.3 0.9\n0 0 0 1 0 1 1 0 1\n2 0.25 0.25 0.75 0.25 0.5 0.75\n",
    };
    const char *alphabet = "0123456789 .-+eE\n\r\tnaif0.5 1";
    RngCursor c = rng_cursor(2024, rng_stream(RNG_TEST, 3, 0));
    int outcomes[LABEL_KIND_COUNT] = {0};
    for (int s = 0; s < 2; s++) {
        size_t seed_len = strlen(seeds[s]), cap = seed_len + 64;
        uint8_t *buf = malloc(cap);
        for (int it = 0; buf && it < 2000; it++) {
            memcpy(buf, seeds[s], seed_len);
            // Half the runs mutate with any byte, half with label-like characters.
            size_t len = mutate(buf, seed_len, cap, it % 2 ? alphabet : NULL, &c);
            char *exact = malloc(len ? len : 1);
            if (!exact) break;
            memcpy(exact, buf, len);
            Labels l;
            int dups = -1;
            char why[96] = "";
            LabelProblem p = labels_parse(exact, len, 4, &l, &dups, why, sizeof why);
            if (p < LABEL_OK || p >= LABEL_KIND_COUNT) {
                test_fail(__FILE__, __LINE__, "iteration %d: problem %d", it, p);
            } else {
                outcomes[p]++;
                if (p == LABEL_OK) check_labels(&l, 4, it);
                else if (!why[0] || l.n != 0 || l.cls) test_fail(__FILE__, __LINE__, "iteration %d: unclean failure", it);
            }
            labels_free(&l);
            free(exact);
        }
        free(buf);
    }
    // Every outcome shows up, so the run reaches every check.
    for (int k = 0; k < LABEL_KIND_COUNT; k++) EXPECT(outcomes[k] > 0);
}
