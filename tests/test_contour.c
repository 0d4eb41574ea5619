// The border follower and the polygon merge (src/data/contour.h): by hand on small masks, then
// point for point against OpenCV 4.10's findContours and Ultralytics' merge_multi_segment on the
// masks of tests/fixtures/contours.json (scripts/reference/make_predict_task_fixtures.py).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/contour.h"
#include "predict_fixture.h"
#include "test.h"

// "x y x y ..." of points[0..n).
static void points_text(const ContourPoint *p, int n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < cap; i++) o += (size_t)snprintf(out + o, cap - o, i ? " %d %d" : "%d %d", p[i].x, p[i].y);
}

// A mask from rows of '0' and '1'.
static uint8_t *mask_of(const char *const *rows, int h, int *w) {
    *w = (int)strlen(rows[0]);
    uint8_t *m = malloc((size_t)*w * (size_t)h);
    for (int y = 0; m && y < h; y++)
        for (int x = 0; x < *w; x++) m[(size_t)y * (size_t)*w + (size_t)x] = rows[y][x] == '1';
    return m;
}

TEST(contour_follows_outer_borders_counter_clockwise_from_the_top_left) {
    // A 3x2 block: its four corners, starting at the top-left and going down first.
    static const char *block[] = {"00000", "01110", "01110", "00000"};
    int w;
    uint8_t *m = mask_of(block, 4, &w);
    Contours c = {0};
    char text[256];
    EXPECT_OK(contours_find(&c, m, w, 4));
    EXPECT(c.n == 1 && c.first[0] == 0 && c.first[1] == 4);
    points_text(c.points, c.first[1], text, sizeof text);
    EXPECT(!strcmp(text, "1 1 1 2 3 2 3 1"));
    free(m);

    // A ring with an object in its hole: only the ring's outer border; the two objects below it
    // come first (OpenCV lists the last found first), a lone pixel as one point.
    static const char *ring[] = {"11111", "10001", "10101", "10001", "11111", "00000", "10010"};
    m = mask_of(ring, 7, &w);
    EXPECT_OK(contours_find(&c, m, w, 7));
    EXPECT(c.n == 3);
    if (c.n == 3) {
        points_text(c.points + c.first[0], c.first[1] - c.first[0], text, sizeof text);
        EXPECT(!strcmp(text, "3 6"));
        points_text(c.points + c.first[1], c.first[2] - c.first[1], text, sizeof text);
        EXPECT(!strcmp(text, "0 6"));
        points_text(c.points + c.first[2], c.first[3] - c.first[2], text, sizeof text);
        EXPECT(!strcmp(text, "0 0 0 4 4 4 4 0"));
    }
    // Joined as merge_multi_segment does: each pixel closed on itself, the ring entered and left at
    // its corner nearest the pixel before it.
    EXPECT_OK(contours_merge(&c));
    points_text(c.merged, c.n_merged, text, sizeof text);
    EXPECT(!strcmp(text, "3 6 3 6 0 6 0 4 4 4 4 0 0 0 0 4 0 6 0 6"));
    free(m);

    // Nothing set: no contours and an empty polygon, the arrays kept for the next mask.
    static const char *none[] = {"000", "000"};
    m = mask_of(none, 2, &w);
    EXPECT_OK(contours_find(&c, m, w, 2));
    EXPECT_OK(contours_merge(&c));
    EXPECT(c.n == 0 && c.first[0] == 0 && c.n_merged == 0);
    free(m);
    contours_free(&c);
}

TEST(contour_matches_opencv_and_merge_multi_segment) {
    cJSON *doc = predict_fixture_json("tests/fixtures/contours.json");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "masks"), *one;
    EXPECT(cJSON_GetArraySize(cases) >= 30);
    Contours c = {0};
    char want[8192], got[8192];
    int index = 0, bad = 0;
    cJSON_ArrayForEach(one, cases) {
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(one, "rows"), *contours = cJSON_GetObjectItemCaseSensitive(one, "contours");
        int h = cJSON_GetArraySize(rows), w = (int)strlen(cJSON_GetArrayItem(rows, 0)->valuestring);
        uint8_t *m = malloc((size_t)w * (size_t)h);
        for (int y = 0; m && y < h; y++)
            for (int x = 0; x < w; x++) m[(size_t)y * (size_t)w + (size_t)x] = cJSON_GetArrayItem(rows, y)->valuestring[x] == '1';
        bool same = m && contours_find(&c, m, w, h) == 0 && c.n == cJSON_GetArraySize(contours);
        for (int k = 0; same && k < c.n; k++) {
            points_text(c.points + c.first[k], c.first[k + 1] - c.first[k], got, sizeof got);
            snprintf(want, sizeof want, "%s", cJSON_GetArrayItem(contours, k)->valuestring);
            same = !strcmp(got, want);
        }
        if (same) {
            same = contours_merge(&c) == 0;
            points_text(c.merged, c.n_merged, got, sizeof got);
            snprintf(want, sizeof want, "%s", json_str(one, "merged"));
            same = same && !strcmp(got, want);
        }
        if (!same && bad++ < 3) test_fail(__FILE__, __LINE__, "mask %d (%dx%d): not OpenCV's contours or polygon", index, w, h);
        free(m);
        index++;
    }
    contours_free(&c);
    cJSON_Delete(doc);
}
