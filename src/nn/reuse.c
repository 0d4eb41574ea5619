#include "nn/reuse.h"

#include <stdlib.h>

#include "core/status.h"

typedef struct {
    size_t offset, size;
    int death;
} Live;

static int by_offset(const void *a, const void *b) {
    const Live *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

// Tensors are placed in order of birth (ties: index order); each goes into the lowest gap among
// the tensors still alive at its birth that is large enough, else after the highest one.
int plan_reuse(int n, const size_t *bytes, const int *birth, const int *death, size_t align, size_t *offsets,
               size_t *total) {
    Live *live = malloc(sizeof *live * (size_t)(n ? n : 1));
    int *order = malloc(sizeof *order * (size_t)(n ? n : 1));
    if (!live || !order) {
        free(live);
        free(order);
        return yolo_fail("out of memory planning %d tensors", n);
    }
    // Stable insertion sort by birth: graphs have hundreds of tensors, born almost in order.
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && birth[order[j - 1]] > birth[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    int n_live = 0;
    *total = 0;
    for (int k = 0; k < n; k++) {
        int t = order[k];
        size_t need = (bytes[t] + align - 1) / align * align;
        // Forget tensors that died before this one is born, then look for a gap.
        int kept = 0;
        for (int i = 0; i < n_live; i++)
            if (live[i].death >= birth[t]) live[kept++] = live[i];
        n_live = kept;
        qsort(live, (size_t)n_live, sizeof *live, by_offset);
        size_t at = 0;
        for (int i = 0; i < n_live; i++) {
            if (live[i].offset >= at + need) break;
            size_t end = live[i].offset + live[i].size;
            if (end > at) at = end;
        }
        offsets[t] = at;
        live[n_live++] = (Live){.offset = at, .size = need, .death = death[t]};
        if (at + need > *total) *total = at + need;
    }
    free(live);
    free(order);
    return 0;
}
