#include "resume_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "scratch.h"
#include "test.h"

// Every tensor of path_a with the same name, shape and bytes in path_b, and no other tensor in path_b.
static void same_tensors(const char *path_a, const char *path_b) {
    SafeTensors a, b;
    if (safetensors_load(path_a, &a) != 0 || safetensors_load(path_b, &b) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    EXPECT(a.n_tensors == b.n_tensors);
    int differ = 0;
    for (int i = 0; i < a.n_tensors; i++) {
        const StTensor *ta = &a.tensors[i], *tb = safetensors_find(&b, ta->name);
        if (!tb || tb->nbytes != ta->nbytes || memcmp(ta->data, tb->data, ta->nbytes) != 0) {
            if (differ++ < 5) test_fail(__FILE__, __LINE__, "tensor %s differs after resume", ta->name);
        }
    }
    EXPECT(differ == 0);
    safetensors_free(&a);
    safetensors_free(&b);
}

// results.csv with the time column (the second) cut out of every line.
static char *results_without_time(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *out = calloc(1, 1 << 16), line[4096];
    size_t used = 0;
    while (out && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c2) used += (size_t)snprintf(out + used, (1 << 16) - used, "%.*s%s", (int)(c1 - line), line, c2);
    }
    fclose(f);
    return out;
}

void expect_task_resume_exact(TinyRun make, int batch, int epochs, int stop, int stop_batches, double save_minutes) {
    char dir_a[256], dir_b[256], path_a[512], path_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "resume-a")) return;
    if (!scratch_make(dir_b, sizeof dir_b, "resume-b")) return;
    TrainOptions a = make(dir_a, 0);
    a.batch = batch;
    a.epochs = epochs;
    EXPECT_OK(train_run(&a));

    TrainOptions b = make(dir_b, 2);
    b.batch = batch;
    b.epochs = epochs;
    b.stop_after_epoch = stop;
    b.interrupt_after_batches = stop_batches;
    b.save_minutes = save_minutes;
    EXPECT(train_run(&b) == 130);
    b.stop_after_epoch = 0;
    b.interrupt_after_batches = 0;
    snprintf(b.resume, sizeof b.resume, "%s/runs/train/weights/last.ckpt", dir_b);
    EXPECT_OK(train_run(&b));

    snprintf(path_a, sizeof path_a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    same_tensors(path_a, path_b);
    snprintf(path_a, sizeof path_a, "%s/runs/train/results.csv", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/results.csv", dir_b);
    char *ra = results_without_time(path_a), *rb = results_without_time(path_b);
    EXPECT(ra && rb);
    if (ra && rb && strcmp(ra, rb) != 0) test_fail(__FILE__, __LINE__, "results.csv differs:\n%s\nvs\n%s", ra, rb);
    free(ra);
    free(rb);

    // A finished run has nothing left to do at the same epochs=.
    EXPECT(train_run(&b) != 0 && strstr(yolo_error(), "extend the run with a larger epochs="));
    yolo_error_clear();
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}
