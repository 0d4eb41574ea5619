// The C API from start to end: train a tiny detector on the built-in shapes8 dataset, validate
// its best.ckpt, and print the boxes it finds in a few images.
//
//     cc train_and_predict.c $(pkg-config --cflags --libs yolo) -o train_and_predict
//     ./train_and_predict [SOURCE]
//
// SOURCE is an image, a folder, a glob or a .txt list (default: the shapes8 validation images,
// which training generates under ./datasets). Runs go to ./runs/detect.
#include <stdio.h>
#include <yolo/yolo.h>

// Prints the objects of one image; ctx counts the images.
static int print_objects(const yolo_prediction *p, void *ctx) {
    int *images = ctx;
    (*images)++;
    printf("%s (%dx%d): %d object%s\n", p->path, p->width, p->height, p->n, p->n == 1 ? "" : "s");
    for (int i = 0; i < p->n; i++) {
        const float *b = &p->boxes[4 * i];
        printf("  %-8s %.3f  x1 %.1f  y1 %.1f  x2 %.1f  y2 %.1f\n", p->names[p->classes[i]], p->scores[i], b[0], b[1], b[2],
               b[3]);
    }
    return 0; // non-zero would stop after this image
}

// Reports a failed call; returns its status.
static int report(int rc, const char *what) {
    if (rc != YOLO_OK) fprintf(stderr, "%s failed (exit status %d): %s\n", what, rc, yolo_error());
    return rc;
}

int main(int argc, char **argv) {
    const char *source = argc > 1 ? argv[1] : "datasets/shapes8/images/val";
    printf("libyolo %s\n", yolo_version());

    // 1. Train, with the words one would give `yolo`.
    char *train_words[] = {"detect", "train", "data=shapes8.yaml", "model=yolov8n.yaml", "epochs=2", "imgsz=64",
                           "batch=4", "workers=0", "plots=False", "name=example"};
    yolo_args *train = yolo_args_create();
    char run[YOLO_PATH_MAX] = "";
    int rc = train ? YOLO_OK : YOLO_FAILED;
    if (rc == YOLO_OK) rc = report(yolo_args_parse(train, sizeof train_words / sizeof *train_words, train_words), "arguments");
    if (rc == YOLO_OK) rc = report(yolo_train(train, run, sizeof run), "training");
    yolo_args_destroy(train);
    if (rc != YOLO_OK) return rc;
    char best[YOLO_PATH_MAX + 32];
    snprintf(best, sizeof best, "%s/weights/best.ckpt", run);
    printf("trained: %s\n", best);

    // 2. Validate best.ckpt on the dataset it trained on, one key at a time.
    yolo_args *val = yolo_args_create();
    yolo_metrics metrics;
    rc = val ? YOLO_OK : YOLO_FAILED;
    if (rc == YOLO_OK) rc = report(yolo_args_set(val, "model", best), "model=");
    if (rc == YOLO_OK) rc = report(yolo_args_set(val, "plots", "False"), "plots=");
    if (rc == YOLO_OK) rc = report(yolo_val(val, &metrics), "validation");
    yolo_args_destroy(val);
    if (rc != YOLO_OK) return rc;
    for (int i = 0; i < metrics.n; i++) printf("%s = %.5f\n", metrics.names[i], metrics.values[i]);
    printf("fitness = %.5f (in %s)\n", metrics.fitness, metrics.run_dir);

    // 3. Predict: the boxes through the callback, nothing saved. A model two epochs old scores
    // below the usual conf=0.25: conf=0 shows its best guesses, at most 3 per image.
    yolo_args *predict = yolo_args_create();
    int images = 0;
    rc = predict ? YOLO_OK : YOLO_FAILED;
    const char *keys[][2] = {{"model", best}, {"source", source}, {"conf", "0"}, {"max_det", "3"}, {"save", "False"}};
    for (size_t k = 0; rc == YOLO_OK && k < sizeof keys / sizeof *keys; k++)
        rc = report(yolo_args_set(predict, keys[k][0], keys[k][1]), keys[k][0]);
    if (rc == YOLO_OK) rc = report(yolo_predict(predict, print_objects, &images), "prediction");
    yolo_args_destroy(predict);
    if (rc == YOLO_OK) printf("%d images predicted\n", images);
    return rc;
}
