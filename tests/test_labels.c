// YOLO label files: detect and segment rows, backgrounds, duplicates, and every LabelProblem with
// the line and value its message names.
#include <stdlib.h>
#include <string.h>

#include "data/labels.h"
#include "test.h"

// Parses a NUL-free literal from an exact-size heap copy, so that reading past `len` is caught
// by the sanitizers.
static LabelProblem parse(const char *text, int nc, Labels *out, int *dups, char *why, size_t cap) {
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    if (!copy) return LABEL_BAD_SYNTAX;
    memcpy(copy, text, len);
    LabelProblem p = labels_parse(copy, len, nc, out, dups, why, cap);
    free(copy);
    return p;
}

static bool box_is(const Labels *l, int i, float cx, float cy, float w, float h) {
    const float *b = l->boxes + 4 * i;
    return fabsf(b[0] - cx) < 1e-6f && fabsf(b[1] - cy) < 1e-6f && fabsf(b[2] - w) < 1e-6f && fabsf(b[3] - h) < 1e-6f;
}

TEST(labels_detect_rows) {
    Labels l;
    int dups = -1;
    char why[128];
    EXPECT(parse("0 0.5 0.5 0.2 0.3\n3 0.1 0.2 0.05 0.06\n", 5, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 2 && dups == 0 && l.poly == NULL && l.points == NULL);
    EXPECT(l.cls[0] == 0 && l.cls[1] == 3);
    EXPECT(box_is(&l, 0, 0.5f, 0.5f, 0.2f, 0.3f) && box_is(&l, 1, 0.1f, 0.2f, 0.05f, 0.06f));
    labels_free(&l);
    // Exact bounds are inside, and a class may be written as an integral float.
    EXPECT(parse("3.0 0 0 1 1\n1 1 1 0 0", 5, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 2 && l.cls[0] == 3 && l.cls[1] == 1);
    labels_free(&l);
}

TEST(labels_segment_rows_give_polygons_and_their_boxes) {
    Labels l;
    int dups;
    char why[128];
    // Any row with more than 6 fields makes the file segment labels.
    EXPECT(parse("1 0.1 0.2 0.5 0.2 0.3 0.9\n0 0 0 1 0 1 1 0 1\n", 2, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 2 && l.poly != NULL);
    if (l.n == 2 && l.poly) {
        EXPECT(l.poly[0] == 0 && l.poly[1] == 3 && l.poly[2] == 7);
        EXPECT(l.points[0] == 0.1f && l.points[1] == 0.2f && l.points[4] == 0.3f && l.points[5] == 0.9f);
        EXPECT(l.points[12] == 0.0f && l.points[13] == 1.0f);
        EXPECT(box_is(&l, 0, 0.3f, 0.55f, 0.4f, 0.7f));
        EXPECT(box_is(&l, 1, 0.5f, 0.5f, 1.0f, 1.0f));
    }
    labels_free(&l);
}

TEST(labels_blank_text_is_a_background) {
    const char *texts[] = {"", "\n", "\n\n  \t\r\n", "   "};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        Labels l;
        int dups = -1;
        char why[64];
        EXPECT(parse(texts[i], 3, &l, &dups, why, sizeof why) == LABEL_OK);
        EXPECT(l.n == 0 && l.cls == NULL && l.boxes == NULL && l.poly == NULL && dups == 0);
        labels_free(&l);
    }
}

TEST(labels_crlf_tabs_and_trailing_whitespace) {
    Labels l;
    int dups;
    char why[128];
    EXPECT(parse("0 0.5 0.5 0.2 0.2 \r\n\r\n1\t0.1  0.1 0.1 0.1\t\r\n", 2, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 2 && l.cls[1] == 1);
    labels_free(&l);
    // Line numbers count CRLF once and a lone CR as a line end.
    EXPECT(parse("0 0.5 0.5 0.2 0.2\r\n\r\n7 0.5 0.5 0.2 0.2", 5, &l, &dups, why, sizeof why) == LABEL_CLASS_RANGE);
    EXPECT(strcmp(why, "line 3: class 7 is not in [0, 5)") == 0);
    EXPECT(parse("0 0.5 0.5 0.2 0.2\r7 0.5 0.5 0.2 0.2", 5, &l, &dups, why, sizeof why) == LABEL_CLASS_RANGE);
    EXPECT(strcmp(why, "line 2: class 7 is not in [0, 5)") == 0);
}

TEST(labels_duplicates_are_dropped_and_counted) {
    Labels l;
    int dups = 0;
    char why[128];
    // Equal after parsing counts, however written; order of first occurrences is kept.
    EXPECT(parse("2 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.1 0.1\n2.0 0.50 .5 2e-1 0.2\n0 0.1 0.1 0.1 0.1\n1 0.3 0.3 0.3 0.3\n"
                 "0 0.1 0.1 0.1 0.1\n",
                 3, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 3 && dups == 3);
    if (l.n == 3) EXPECT(l.cls[0] == 2 && l.cls[1] == 0 && l.cls[2] == 1);
    labels_free(&l);
    // Polygons: the same points are a duplicate, the same bounding box is not.
    EXPECT(parse("0 0.1 0.1 0.9 0.1 0.9 0.9\n0 0.1 0.1 0.9 0.1 0.9 0.9\n0 0.1 0.1 0.9 0.9 0.1 0.9\n", 1, &l, &dups,
                 why, sizeof why) == LABEL_OK);
    EXPECT(l.n == 2 && dups == 1 && l.poly && l.poly[2] == 6);
    labels_free(&l);
}

typedef struct {
    const char *text;
    int nc;
    LabelProblem kind;
    const char *why;
} Bad;

TEST(labels_problems_name_the_line_and_value) {
    const Bad cases[] = {
        {"0 0.5 0.5 0.2\n", 5, LABEL_BAD_SYNTAX, "line 1: 4 fields, detect labels have 5 (class cx cy w h)"},
        {"0 0.5 0.5 0.2 0.2 0.1\n", 5, LABEL_BAD_SYNTAX, "line 1: 6 fields, detect labels have 5 (class cx cy w h)"},
        {"0 0.5 0.5 0.2 0.2\n0 0.1 0.2 0.3 0.4 0.5 0.6 0.7\n", 5, LABEL_BAD_SYNTAX,
         "line 1: 5 fields, segment labels have a class and an even number (at least 6) of coordinates"},
        {"0 0.1 0.2 0.3 0.4 0.5 0.6 0.7\n", 5, LABEL_BAD_SYNTAX,
         "line 1: 8 fields, segment labels have a class and an even number (at least 6) of coordinates"},
        {"\n\n7 0.5 0.5 0.2 0.2\n", 5, LABEL_CLASS_RANGE, "line 3: class 7 is not in [0, 5)"},
        {"-1 0.5 0.5 0.2 0.2", 5, LABEL_CLASS_RANGE, "line 1: class -1 is not in [0, 5)"},
        {"1e30 0.5 0.5 0.2 0.2", 5, LABEL_CLASS_RANGE, "line 1: class 1e30 is not in [0, 5)"},
        {"99999999999999999999999999999999999999999 0.5 0.5 0.2 0.2", 5, LABEL_CLASS_RANGE,
         "line 1: class 99999999999999999999999999999999... is not in [0, 5)"},
        {"nan 0.5 0.5 0.2 0.2", 5, LABEL_CLASS_RANGE, "line 1: class nan is not in [0, 5)"},
        {"2.5 0.5 0.5 0.2 0.2", 5, LABEL_BAD_SYNTAX, "line 1: class 2.5 is not an integer"},
        {"0 0.5 1.2 0.2 0.2", 5, LABEL_COORD_RANGE, "line 1: coordinate 1.2 is not in [0, 1]"},
        {"0 0.5 0.5 -0.01 0.2", 5, LABEL_COORD_RANGE, "line 1: coordinate -0.01 is not in [0, 1]"},
        {"0 0.5 0.5 0.2 1e30", 5, LABEL_COORD_RANGE, "line 1: coordinate 1e30 is not in [0, 1]"},
        {"0 NaN 0.5 0.2 0.2", 5, LABEL_COORD_RANGE, "line 1: coordinate NaN is not in [0, 1]"},
        {"0 0.5 inf 0.2 0.2", 5, LABEL_COORD_RANGE, "line 1: coordinate inf is not in [0, 1]"},
        // float32 rounds this up to 1.00000012, as numpy would.
        {"0 1.0000001 0.5 0.2 0.2", 5, LABEL_COORD_RANGE, "line 1: coordinate 1.0000001 is not in [0, 1]"},
        {"0 0.5 abc 0.2 0.2", 5, LABEL_BAD_SYNTAX, "line 1: 'abc' is not a number"},
        {"0 0x1p-1 0.5 0.2 0.2", 5, LABEL_BAD_SYNTAX, "line 1: '0x1p-1' is not a number"},
        {"0 0.5,0.5 0.2 0.2", 5, LABEL_BAD_SYNTAX, "line 1: '0.5,0.5' is not a number"},
        {"0 a\x01\x7f 0.5 0.2 0.2", 5, LABEL_BAD_SYNTAX, "line 1: 'a?\?' is not a number"},
        {"0 0.123456789012345678901234567890123456789 0.5 0.2 0.2", 5, LABEL_OK, ""},
        {"0 0.5 0.5 0.2 0.2", 0, LABEL_CLASS_RANGE, "line 1: class 0 is not in [0, 0)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Labels l;
        int dups;
        char why[160] = "unset";
        LabelProblem p = parse(cases[i].text, cases[i].nc, &l, &dups, why, sizeof why);
        if (p != cases[i].kind || strcmp(why, cases[i].why) != 0)
            test_fail(__FILE__, __LINE__, "case %zu: problem %d \"%s\", expected %d \"%s\"", i, p, why, cases[i].kind,
                      cases[i].why);
        if (p != LABEL_OK) EXPECT(l.n == 0 && l.cls == NULL && l.boxes == NULL && l.poly == NULL && l.points == NULL);
        labels_free(&l);
    }
}

TEST(labels_odd_buffers) {
    Labels l;
    int dups;
    char why[16];
    // A NUL inside the text is just a bad byte; a short `why` is cut, not overrun; `why` and
    // `duplicates` may be NULL.
    const char nul[] = {'0', ' ', '0', '\0', '5', ' ', '1', ' ', '1', ' ', '1'};
    EXPECT(labels_parse(nul, sizeof nul, 5, &l, &dups, why, sizeof why) == LABEL_BAD_SYNTAX);
    EXPECT(strlen(why) == sizeof why - 1);
    EXPECT(labels_parse("0 0.5 0.5 0.2 0.2", 17, 5, &l, NULL, NULL, 0) == LABEL_OK);
    EXPECT(l.n == 1);
    labels_free(&l);
    EXPECT(labels_parse(NULL, 0, 5, &l, NULL, NULL, 0) == LABEL_OK && l.n == 0);
}

TEST(labels_copy_is_deep) {
    Labels l, c;
    int dups;
    char why[128];
    EXPECT(parse("1 0.1 0.2 0.5 0.2 0.3 0.9\n0 0 0 1 0 1 1 0 1\n", 2, &l, &dups, why, sizeof why) == LABEL_OK);
    EXPECT_OK(labels_copy(&l, &c));
    EXPECT(c.n == 2 && c.poly && c.poly != l.poly && c.points != l.points);
    if (c.n == 2 && c.poly) {
        EXPECT(memcmp(c.cls, l.cls, 2 * sizeof(int)) == 0 && memcmp(c.boxes, l.boxes, 8 * sizeof(float)) == 0);
        EXPECT(memcmp(c.poly, l.poly, 3 * sizeof(int)) == 0 && memcmp(c.points, l.points, 14 * sizeof(float)) == 0);
    }
    labels_free(&l);
    EXPECT(l.n == 0 && l.cls == NULL);
    labels_free(&c);
    // Empty labels copy to empty labels.
    Labels empty = {0};
    EXPECT_OK(labels_copy(&empty, &c));
    EXPECT(c.n == 0 && c.cls == NULL && c.poly == NULL);
    labels_free(&c);
}
