// Exact resume (shared/docs/checkpoint-and-resume.md, Exactness): a run stopped after its first
// epoch and resumed ends with the same model, EMA and optimizer bits and the same results.csv
// (but the time column) as a run never stopped, with another number of loader workers before the
// stop, after it, and in the run never stopped.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "engine/checkpoint.h"
#include "engine/trainer.h"
#include "io/safetensors.h"
#include "io/safetensors_write.h"
#include "nn/model.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

TEST(resume_after_an_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(resume_tiny_detect, 4, 3, 1, 0, 0);
}

// batch 2 on 4 images: 2 micro-batches an epoch, and warmup's growing accumulation (1, 1, 2, 2,
// 2, 3 at iterations 0..5) leaves epoch 3's last micro-batch without an optimizer step, so its
// gradients must travel in the checkpoint (grad.*).
TEST(resume_carries_gradients_accumulated_across_the_epoch_end) {
    expect_task_resume_exact(resume_tiny_detect, 2, 4, 3, 0, 0);
}

// Interrupted inside epoch 2 after its first micro-batch (iteration 2 takes no optimizer step, so
// the save holds partial gradients and the epoch's running losses).
TEST(resume_mid_epoch_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(resume_tiny_detect, 2, 3, 0, 3, 0);
}

// Interrupted after an epoch's last micro-batch, before its validation: the resumed run validates
// and logs that epoch without training it again.
TEST(resume_before_validation_gives_the_bits_of_an_uninterrupted_run) {
    expect_task_resume_exact(resume_tiny_detect, 2, 3, 0, 2, 0);
}

// A checkpoint file with one tensor and the given format_version, its checksum right.
static void write_small_checkpoint(const char *path, const char *version) {
    static const float values[4] = {1, 2, 3, 4};
    StOut t = {.name = "model.0.conv.weight", .data = values, .ndim = 1, .shape = {4}};
    char checksum[32];
    snprintf(checksum, sizeof checksum, "%016" PRIx64, safetensors_data_hash(&t, 1));
    const char *meta[] = {"format", "yolo-ckpt", "format_version", version, "task", "detect",
                          "checksum_xxh3", checksum, "state", "{\"epoch\":1}"};
    unsigned char *buf = NULL;
    size_t size = 0;
    EXPECT_OK(safetensors_serialize(&t, 1, meta, 5, &buf, &size));
    FILE *f = fopen(path, "wb");
    EXPECT(f && fwrite(buf, 1, size, f) == size);
    if (f) fclose(f);
    free(buf);
}

static void flip_last_byte(const char *path) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, -1, SEEK_END);
    int c = fgetc(f);
    fseek(f, -1, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void truncate_to(const char *path, long size) {
    if (truncate(path, size) != 0) test_fail(__FILE__, __LINE__, "cannot truncate %s", path);
}

static void overwrite_start(const char *path, const char *bytes) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fwrite(bytes, 1, strlen(bytes), f);
    fclose(f);
}

TEST(checkpoint_open_verifies_and_falls_back_to_the_previous_generation) {
    char dir[256], last[512], prev[512];
    if (!scratch_make(dir, sizeof dir, "ckpt")) return;
    snprintf(last, sizeof last, "%s/last.ckpt", dir);
    snprintf(prev, sizeof prev, "%s/last.prev.ckpt", dir);
    Checkpoint ck;
    write_small_checkpoint(last, "1");
    EXPECT_OK(checkpoint_open(last, &ck));
    EXPECT(!strcmp(ck.task, "detect") && !strcmp(ck.path, last));
    checkpoint_close(&ck);

    // A flipped data bit: the checksum says so, and without a previous generation that is the error.
    flip_last_byte(last);
    EXPECT(checkpoint_open(last, &ck) != 0 && strstr(yolo_error(), "is damaged: the checksum of its data"));
    yolo_error_clear();
    write_small_checkpoint(prev, "1");
    EXPECT_OK(checkpoint_open(last, &ck));
    EXPECT(!strcmp(ck.path, prev));
    checkpoint_close(&ck);

    // Truncated, and a garbage header: each falls back to the whole previous generation.
    write_small_checkpoint(last, "1");
    truncate_to(last, 100);
    EXPECT_OK(checkpoint_open(last, &ck));
    EXPECT(!strcmp(ck.path, prev));
    checkpoint_close(&ck);
    write_small_checkpoint(last, "1");
    overwrite_start(last, "garbage!garbage!");
    EXPECT_OK(checkpoint_open(last, &ck));
    EXPECT(!strcmp(ck.path, prev));
    checkpoint_close(&ck);
    // Both damaged: one error that names both files.
    truncate_to(prev, 7);
    yolo_error_clear();
    EXPECT(checkpoint_open(last, &ck) != 0);
    EXPECT(strstr(yolo_error(), last) && strstr(yolo_error(), "and the previous generation") && strstr(yolo_error(), prev));
    yolo_error_clear();

    write_small_checkpoint(last, "2");
    remove(prev);
    EXPECT(checkpoint_open(last, &ck) != 0 && strstr(yolo_error(), "format version 2, newer than this yolo reads (1)"));
    yolo_error_clear();
    scratch_remove(dir);
}

TEST(resume_into_another_model_lists_missing_and_unexpected_tensors) {
    char dir[256];
    if (!scratch_make(dir, sizeof dir, "resume-mismatch")) return;
    TrainOptions o = resume_tiny_detect(dir, 0);
    o.epochs = 2;
    o.stop_after_epoch = 1;
    EXPECT(train_run(&o) == 130);
    o.stop_after_epoch = 0;
    snprintf(o.resume, sizeof o.resume, "%s/runs/train/weights/last.ckpt", dir);
    snprintf(o.model, sizeof o.model, "yolov8s.yaml");
    char run[512];
    snprintf(run, sizeof run, "%s/runs/train", dir);
    int files = 0, files_after = 0;
    uint64_t before = folder_digest(run, &files);
    EXPECT(train_run(&o) != 0);
    EXPECT(folder_digest(run, &files_after) == before && files_after == files); // nothing on disk changed
    EXPECT(strstr(yolo_error(), "does not match the model built from its arguments"));
    EXPECT(strstr(yolo_error(), "model has model.0.conv.weight [32, 3, 3, 3]"));
    EXPECT(strstr(yolo_error(), "checkpoint has model.0.conv.weight [16, 3, 3, 3]"));
    yolo_error_clear();
    scratch_remove(dir);
}

// save_minutes as small as it gets: last.ckpt after every micro-batch inside an epoch.
TEST(periodic_saves_change_nothing_and_resume_exactly) {
    expect_task_resume_exact(resume_tiny_detect, 2, 3, 0, 5, 1e-9);
}

// Fine-tuning (model=PATH.ckpt without resume): a new run whose first step starts from the
// checkpoint's EMA weights and BN statistics, in a graph built from the model YAML it stores.

typedef struct {
    const char *ckpt;
    int calls, values, differ;
} StartCheck;

// The training graph and the fresh EMA, before any step, against the checkpoint's ema.* tensors.
static void expect_start_from_ema(void *ctx, const Graph *g, const Ema *ema) {
    StartCheck *c = ctx;
    c->calls++;
    SafeTensors st;
    if (safetensors_load(c->ckpt, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    char name[VALUE_NAME_CAP + 8];
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        c->values++;
        snprintf(name, sizeof name, "ema.%s", v->name);
        const StTensor *t = safetensors_find(&st, name);
        size_t bytes = sizeof(float) * (size_t)shape_numel(v->shape);
        bool same = t && t->nbytes == bytes && memcmp(t->data, v->data.data, bytes) == 0 &&
                    memcmp(t->data, ema->values + v->data_offset / sizeof(float), bytes) == 0;
        if (!same && c->differ++ < 5) test_fail(__FILE__, __LINE__, "%s does not start from %s", v->name, name);
    }
    safetensors_free(&st);
}

TEST(finetune_starts_a_new_run_from_the_checkpoints_ema_weights) {
    char dir[256], ckpt[512], path[512];
    if (!scratch_make(dir, sizeof dir, "finetune")) return;
    TrainOptions o = resume_tiny_detect(dir, 0);
    o.epochs = 2;
    EXPECT_OK(train_run(&o));
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);

    // The architecture comes from the checkpoint, not from a YAML file.
    StartCheck check = {.ckpt = ckpt};
    TrainOptions f = resume_tiny_detect(dir, 0);
    f.epochs = 1;
    snprintf(f.model, sizeof f.model, "%s", ckpt);
    snprintf(f.weights, sizeof f.weights, "%s", ckpt);
    f.after_setup = expect_start_from_ema;
    f.after_setup_ctx = &check;
    EXPECT_OK(train_run(&f));
    EXPECT(check.calls == 1 && check.values > 0 && check.differ == 0);

    // A new run folder at epoch 0 with a fresh optimizer: one epoch done, one optimizer step.
    snprintf(path, sizeof path, "%s/runs/train2/weights/last.ckpt", dir);
    Checkpoint ck;
    EXPECT_OK(checkpoint_open(path, &ck));
    if (ck.state) {
        EXPECT(cJSON_GetObjectItemCaseSensitive(ck.state, "epoch")->valueint == 1);
        EXPECT(cJSON_GetObjectItemCaseSensitive(ck.state, "optimizer_steps")->valueint == 1);
        EXPECT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck.state, "results")) == 1);
    }
    checkpoint_close(&ck);
    scratch_remove(dir);
}

// An interrupted fine-tuned run resumes from its own checkpoint, which stores the architecture:
// the checkpoint it started from is not needed any more.
TEST(finetuned_run_resumes_without_its_source_checkpoint) {
    char dir[256], ckpt[512], prev[512];
    if (!scratch_make(dir, sizeof dir, "finetune-resume")) return;
    TrainOptions o = resume_tiny_detect(dir, 0);
    o.epochs = 1;
    EXPECT_OK(train_run(&o));
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);
    snprintf(prev, sizeof prev, "%s/runs/train/weights/last.prev.ckpt", dir);

    TrainOptions f = resume_tiny_detect(dir, 0);
    f.epochs = 2;
    f.stop_after_epoch = 1;
    snprintf(f.model, sizeof f.model, "%s", ckpt);
    snprintf(f.weights, sizeof f.weights, "%s", ckpt);
    EXPECT(train_run(&f) == 130);
    remove(ckpt);
    remove(prev);
    f.stop_after_epoch = 0;
    snprintf(f.resume, sizeof f.resume, "%s/runs/train2/weights/last.ckpt", dir);
    EXPECT_OK(train_run(&f));
    scratch_remove(dir);
}

// Another class count: every tensor but the class layers (cv3.<level>.2, whose output channels
// are nc) is transferred, and those keep the fresh initialisation.
TEST(finetune_into_another_nc_transfers_all_but_the_class_layers) {
    char dir[256], ckpt[512];
    if (!scratch_make(dir, sizeof dir, "finetune-nc")) return;
    TrainOptions o = resume_tiny_detect(dir, 0);
    o.epochs = 1;
    EXPECT_OK(train_run(&o)); // shapes8: 5 classes
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);
    Checkpoint ck;
    ModelDef def;
    Model m;
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    EXPECT_OK(checkpoint_open(ckpt, &ck));
    EXPECT_OK(checkpoint_model_def(&ck, &def));
    EXPECT(def.nc == 5 && def.scale == 'n' && strstr(def.path, "last.ckpt:model.yaml"));
    EXPECT_OK(model_build(g, &def, &(ModelOptions){.nc = 3, .batch = 1, .imgsz = 64}, &m));
    EXPECT_OK(graph_plan(g, 0));
    int copied = 0, total = 0, class_layers = 0, wrong = 0;
    EXPECT_OK(checkpoint_transfer(&ck, "ema.", g, &copied, &total));
    char name[VALUE_NAME_CAP + 8];
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        int level = -1;
        char rest[16] = "";
        bool cls = sscanf(v->name, "model.22.cv3.%d.2.%15s", &level, rest) == 2;
        class_layers += cls;
        snprintf(name, sizeof name, "ema.%s", v->name);
        const StTensor *t = safetensors_find(&ck.st, name);
        bool same = t && t->numel == shape_numel(v->shape) && memcmp(t->data, v->data.data, t->nbytes) == 0;
        if (same == cls && wrong++ < 5) test_fail(__FILE__, __LINE__, "%s: transferred %d", v->name, same);
    }
    EXPECT(class_layers == 6 && wrong == 0);
    EXPECT(copied == total - 6);
    printf("    Transferred %d/%d items\n", copied, total);
    model_def_free(&def);
    checkpoint_close(&ck);
    graph_destroy(g);
    backend_destroy(b);
    scratch_remove(dir);
}
