#include "data/contour.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

// The label image has a one-pixel frame of background around the mask (OpenCV pads the same way,
// so that borders on the mask's edge are followed like any other). Its values: background 0, a set
// pixel not yet on a followed border 1, and once followed, TRACED, or RIGHT_EDGE when the border
// left it with background to its right (Suzuki's negative label: what lies right of it on the row
// is outside the object again).
enum { TRACED = 2, RIGHT_EDGE = -2 };

// Chain codes: 0 east, then counter-clockwise on screen (1 north-east, 2 north, ..., 7 south-east).
static const int DX[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int DY[8] = {0, -1, -1, -1, 0, 1, 1, 1};

static int push_point(Contours *c, size_t *n, int x, int y) {
    if (*n == c->points_cap) {
        size_t cap = c->points_cap ? 2 * c->points_cap : 256;
        ContourPoint *grown = realloc(c->points, cap * sizeof *grown);
        if (!grown) return yolo_fail("out of memory for the points of a mask's contours");
        c->points = grown;
        c->points_cap = cap;
    }
    c->points[(*n)++] = (ContourPoint){x, y};
    return 0;
}

static int push_contour(Contours *c, size_t end) {
    if (c->n + 2 >= c->first_cap) {
        int cap = c->first_cap ? 2 * c->first_cap : 16;
        int *grown = realloc(c->first, (size_t)cap * sizeof *grown);
        if (!grown) return yolo_fail("out of memory for the contours of a mask");
        c->first = grown;
        c->first_cap = cap;
    }
    c->first[++c->n] = (int)end;
    return 0;
}

// Follows the outer border that starts at label index i0 (mask pixel x, y), whose left neighbour
// is background, marking its pixels and appending the points where its direction changes.
static int follow(Contours *c, size_t *n, int8_t *lab, const long off[8], size_t i0, int x, int y) {
    // The first set neighbour clockwise from the west one (which is background): none means an
    // isolated pixel, a contour of one point.
    int s = 4;
    size_t i1;
    do {
        s = (s - 1) & 7;
        i1 = i0 + (size_t)off[s];
    } while (lab[i1] == 0 && s != 4);
    if (lab[i1] == 0) {
        lab[i0] = RIGHT_EDGE;
        return push_point(c, n, x, y);
    }
    size_t i3 = i0, i4;
    int last = s ^ 4; // differs from the first direction, so the start point is written
    for (;;) {
        // From the pixel we came from (s, reversed below), counter-clockwise to the next set one.
        int from = s;
        do {
            s++;
            i4 = i3 + (size_t)off[s & 7];
        } while (lab[i4] == 0);
        s &= 7;
        // The search passed the east neighbour, background: this pixel is a right edge.
        if ((unsigned)(s - 1) < (unsigned)from) lab[i3] = RIGHT_EDGE;
        else if (lab[i3] == 1) lab[i3] = TRACED;
        if (s != last) {
            TRY(push_point(c, n, x, y));
            last = s;
        }
        x += DX[s];
        y += DY[s];
        // Back at the start, about to take the first step again: the border is closed.
        if (i4 == i0 && i3 == i1) return 0;
        i3 = i4;
        s = (s + 4) & 7;
    }
}

// Reverses points[a .. b).
static void reverse_points(ContourPoint *p, size_t a, size_t b) {
    for (; a + 1 < b; a++, b--) {
        ContourPoint t = p[a];
        p[a] = p[b - 1];
        p[b - 1] = t;
    }
}

int contours_find(Contours *c, const uint8_t *mask, int w, int h) {
    c->n = -1; // push_contour writes first[n + 1]: first[0] = 0
    if (push_contour(c, 0) != 0) {
        c->n = 0;
        return -1;
    }
    c->n = 0;
    if (w <= 0 || h <= 0) return 0;
    const size_t stride = (size_t)w + 2, cells = stride * ((size_t)h + 2);
    if (cells > c->labels_cap) {
        free(c->labels);
        c->labels = malloc(cells);
        c->labels_cap = c->labels ? cells : 0;
        if (!c->labels) return yolo_fail("out of memory tracing the contours of a %dx%d mask", w, h);
    }
    int8_t *lab = c->labels;
    memset(lab, 0, cells);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) lab[(size_t)(y + 1) * stride + (size_t)x + 1] = mask[(size_t)y * (size_t)w + (size_t)x] != 0;
    long off[8];
    for (int s = 0; s < 8; s++) off[s] = DX[s] + DY[s] * (long)stride;

    size_t n = 0;
    for (int y = 1; y <= h; y++) {
        // prev: the last value read on this row (before any following changed it); lnbd: the last
        // pixel of the row found on a followed border (column 0, the frame, at first).
        int8_t prev = 0;
        int lnbd = 0;
        int8_t *row = lab + (size_t)y * stride;
        for (int x = 1; x <= w; x++) {
            int8_t p = row[x];
            if (p == prev) continue;
            // An outer border starts here unless the last border to the left was entered but not
            // left: then this pixel lies in a hole of that object, and only outermost borders count.
            if (prev == 0 && p == 1 && row[lnbd] <= 0) {
                TRY(follow(c, &n, lab, off, (size_t)y * stride + (size_t)x, x - 1, y - 1));
                TRY(push_contour(c, n));
            }
            prev = p;
            if (p != 0 && p != 1) lnbd = x;
        }
    }
    // OpenCV lists them last found first. Reversing all the points reverses the contours' order
    // and each one's points; the new contour k (old n - 1 - k) starts where the old ones after it
    // end, at N - first[n - k], and its own points are put back in order.
    reverse_points(c->points, 0, n);
    int *first = c->first, total = (int)n;
    for (int a = 0, b = c->n; a < b; a++, b--) {
        int t = first[a];
        first[a] = first[b];
        first[b] = t;
    }
    for (int k = 0; k <= c->n; k++) first[k] = total - first[k];
    for (int k = 0; k < c->n; k++) reverse_points(c->points, (size_t)first[k], (size_t)first[k + 1]);
    return 0;
}

void contours_free(Contours *c) {
    free(c->first);
    free(c->points);
    free(c->labels);
    free(c->merged);
    *c = (Contours){0};
}

// ---- merge_multi_segment ----------------------------------------------------------------------

// The closest pair of points of contours a and b: the first of the smallest squared distances in
// the order a's points, then b's (numpy's argmin over the distance matrix, row by row).
static void closest_pair(const ContourPoint *a, int na, const ContourPoint *b, int nb, int *ia, int *ib) {
    long long best = -1;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            long long dx = a[i].x - b[j].x, dy = a[i].y - b[j].y, d = dx * dx + dy * dy;
            if (best < 0 || d < best) best = d, *ia = i, *ib = j;
        }
}

static int append(Contours *c, ContourPoint p) {
    if ((size_t)c->n_merged == c->merged_cap) {
        size_t cap = c->merged_cap ? 2 * c->merged_cap : 256;
        ContourPoint *grown = realloc(c->merged, cap * sizeof *grown);
        if (!grown) return yolo_fail("out of memory joining the contours of a mask");
        c->merged = grown;
        c->merged_cap = cap;
    }
    c->merged[c->n_merged++] = p;
    return 0;
}

// Point j of contour k as the forward pass leaves it: possibly reversed, rolled to start at
// `start`, closed by its first point again (j == len gives point 0 of the rolled order).
static ContourPoint walked(const ContourPoint *pts, int len, bool reversed, int start, int j) {
    int at = (j % len + start) % len;
    return pts[reversed ? len - 1 - at : at];
}

int contours_merge(Contours *c) {
    c->n_merged = 0;
    const int k = c->n;
    if (k == 1) {
        for (int i = c->first[0]; i < c->first[1]; i++) TRY(append(c, c->points[i]));
        return 0;
    }
    if (k == 0) return 0;
    // link[i][0]: contour i's point closest to contour i - 1; link[i][1]: closest to i + 1 (the
    // first contour has only the second, the last only the first: Ultralytics' idx_list).
    int(*link)[2] = malloc((size_t)k * sizeof *link);
    bool *reversed = malloc((size_t)k * sizeof *reversed);
    int *start = malloc((size_t)k * sizeof *start);
    int rc = link && reversed && start ? 0 : yolo_fail("out of memory joining %d contours", k);
    for (int i = 1; rc == 0 && i < k; i++) {
        const ContourPoint *a = c->points + c->first[i - 1], *b = c->points + c->first[i];
        int a_at = 0, b_at = 0;
        closest_pair(a, c->first[i] - c->first[i - 1], b, c->first[i + 1] - c->first[i], &a_at, &b_at);
        link[i - 1][i - 1 == 0 ? 0 : 1] = a_at;
        link[i][0] = b_at;
    }
    // Forward: each contour rolled to start at its first link and closed; the first and the last
    // go in whole, a middle one up to its second link. A middle one whose links come in decreasing
    // order is reversed first and rolled by the larger index, as merge_multi_segment does (it rolls
    // the reversed array by an index into the original order).
    for (int i = 0; rc == 0 && i < k; i++) {
        const ContourPoint *pts = c->points + c->first[i];
        int len = c->first[i + 1] - c->first[i];
        bool middle = i > 0 && i < k - 1;
        int lo = link[i][0], hi = middle ? link[i][1] : 0;
        reversed[i] = middle && lo > hi;
        if (reversed[i]) {
            int t = lo;
            lo = hi;
            hi = t;
        }
        start[i] = lo;
        int last = middle ? hi - lo : len; // inclusive
        for (int j = 0; rc == 0 && j <= last; j++) rc = append(c, walked(pts, len, reversed[i], lo, j));
    }
    // Backward: the middle contours' remainders, from the last middle one to the first.
    for (int i = k - 2; rc == 0 && i > 0; i--) {
        const ContourPoint *pts = c->points + c->first[i];
        int len = c->first[i + 1] - c->first[i];
        int skip = abs(link[i][1] - link[i][0]);
        for (int j = skip; rc == 0 && j <= len; j++) rc = append(c, walked(pts, len, reversed[i], start[i], j));
    }
    free(link);
    free(reversed);
    free(start);
    return rc;
}
