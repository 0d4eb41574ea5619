// What may change on resume besides epochs= (shared/docs/checkpoint-and-resume.md): batch=, after
// which the run is no longer the uninterrupted one but is again a run that resumes exactly, and
// data= for a dataset that moved, which resumes exactly.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/checkpoint.h"
#include "engine/run.h"
#include "data/shapes.h"
#include "engine/trainer.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

static double state_number(const Checkpoint *ck, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(ck->state, key);
    return cJSON_IsNumber(item) ? item->valuedouble : -1.0;
}

// A run at `batch` interrupted after `stop` epochs or `stop_batches` micro-batches, then resumed at
// `new_batch` twice: B with a second interruption after `again` micro-batches and a second
// resume, A (a copy of the same checkpoint in another run folder) straight to the end. Both end
// with the same bits and results, and the state records the new batch and its weight decay.
static void expect_batch_change_then_exact(int batch, int new_batch, int nbs, int epochs, int stop, int stop_batches,
                                           int again) {
    char dir_a[256], dir_b[256], path_a[512], path_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "batch-a")) return;
    if (!scratch_make(dir_b, sizeof dir_b, "batch-b")) return;
    TrainOptions b = resume_tiny_detect(dir_b, 1);
    b.batch = batch;
    b.nbs = nbs;
    b.epochs = epochs;
    b.stop_after_epoch = stop;
    b.interrupt_after_batches = stop_batches;
    EXPECT(train_run(&b) == 130);
    snprintf(path_a, sizeof path_a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    if (!make_run_folder(dir_a) || !copy_file(path_b, path_a)) return;

    TrainOptions a = resume_tiny_detect(dir_a, 0);
    a.batch = new_batch;
    a.nbs = nbs;
    a.epochs = epochs;
    snprintf(a.datasets_dir, sizeof a.datasets_dir, "%s/datasets", dir_b);
    snprintf(a.resume, sizeof a.resume, "%s", path_a);
    EXPECT_OK(train_run(&a));

    b.batch = new_batch;
    b.stop_after_epoch = 0;
    b.interrupt_after_batches = again;
    snprintf(b.resume, sizeof b.resume, "%s", path_b);
    EXPECT(train_run(&b) == 130);
    b.interrupt_after_batches = 0;
    b.workers = 2;
    EXPECT_OK(train_run(&b));

    expect_same_tensors(path_a, path_b);
    snprintf(path_a, sizeof path_a, "%s/runs/train", dir_a);
    snprintf(path_b, sizeof path_b, "%s/runs/train", dir_b);
    expect_same_results(path_a, path_b);
    snprintf(path_b, sizeof path_b, "%s/runs/train/results.csv", dir_b);
    EXPECT(count_lines(path_b, NULL, 0) == epochs + 1); // the header and every epoch, the changed one included

    snprintf(path_b, sizeof path_b, "%s/runs/train/weights/last.ckpt", dir_b);
    Checkpoint ck;
    EXPECT_OK(checkpoint_open(path_b, &ck));
    if (ck.state) {
        EXPECT(state_number(&ck, "batch_size") == new_batch);
        // Ultralytics' decay scaling for the new batch: weight_decay * batch * accumulate / nbs.
        int accumulate = (int)fmax(nearbyint((double)nbs / new_batch), 1.0);
        float decay = b.weight_decay * new_batch * accumulate / b.nbs;
        const cJSON *optim = cJSON_GetObjectItemCaseSensitive(ck.state, "optimizer");
        const cJSON *groups = cJSON_GetObjectItemCaseSensitive(optim, "groups");
        const cJSON *decayed = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(groups, 1), "weight_decay");
        EXPECT(cJSON_IsNumber(decayed) && decayed->valuedouble == (double)decay);
    }
    checkpoint_close(&ck);
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}

// batch 2 -> 4 at the end of epoch 3, whose last micro-batch took no optimizer step (with nbs 70,
// warmup's accumulation is 1, 1, 2, 2, 2, 3 at iterations 0..5): the gradients of 2 micro-batches
// of 2 carry over as 1 of 4. nbs 70 makes the decay scaling differ between the batches (accumulate
// 35 and 18: 5e-4 and 5.14e-4). B stops again after epoch 4's only batch, before its validation.
TEST(resume_with_a_larger_batch_carries_partial_gradients_and_resumes_exactly_after) {
    expect_batch_change_then_exact(2, 4, 70, 5, 3, 0, 1);
}

// batch 2 -> 1 inside epoch 2 (after its first micro-batch, which took no optimizer step): epoch 2
// ends there, and B stops again in the middle of epoch 3 at batch 1.
TEST(resume_with_a_smaller_batch_mid_epoch_ends_that_epoch_and_resumes_exactly_after) {
    expect_batch_change_then_exact(2, 1, 64, 3, 0, 3, 2);
}

// The rebasing itself, on a hand-made run state: the position goes to the new batches per epoch
// and last_opt_step keeps the pending micro-batches' images.
static Run rebase_case(const TrainOptions *o, int old_batch, int old_nb, int new_nb, int epoch, int k, int64_t last_opt) {
    Run r = {.o = o, .resumed_batch = old_batch, .resumed_nb = old_nb, .nb = new_nb, .start_epoch = epoch,
             .start_batch = k, .last_opt_step = last_opt};
    snprintf(r.ck.path, sizeof r.ck.path, "runs/detect/train/weights/last.ckpt");
    r.optim.kind = OPTIM_SGD;
    for (int j = 0; j < OPTIM_GROUPS; j++) r.optim.group[j].momentum = 0.85; // in the middle of warmup
    return r;
}

TEST(resume_batch_change_rebases_the_position_to_the_new_batches_per_epoch) {
    TrainOptions o = resume_tiny_detect("/nonexistent", 0);
    o.batch = 8;
    // 1000 images: 250 batches of 4 -> 125 of 8; warmup 3 epochs = 375 iterations at batch 8.
    // Epoch end after 4 epochs, the last optimizer step 3 micro-batches before: 3 x 4 images
    // pending = 1.5 micro-batches of 8, rounded: 2.
    Run r = rebase_case(&o, 4, 250, 125, 4, 0, 4 * 250 - 1 - 3);
    EXPECT_OK(run_resume_position(&r));
    EXPECT(r.start_epoch == 4 && r.start_batch == 0 && r.last_opt_step == 4 * 125 - 1 - 2);
    EXPECT(r.optim.group[1].momentum == (double)o.momentum); // 500 > 375: warmup is over at batch 8

    // Mid-epoch (after 100 of 250 batches of epoch 2, in warmup at both batches, no gradients
    // pending): epoch 2 ends at once, at the new batch's end of that epoch.
    r = rebase_case(&o, 4, 250, 125, 1, 100, 250 + 100 - 1);
    EXPECT_OK(run_resume_position(&r));
    EXPECT(r.start_epoch == 1 && r.start_batch == 125 && r.last_opt_step == 2 * 125 - 1);
    EXPECT(r.optim.group[1].momentum == 0.85); // 250 <= 375: warmup sets it on the next step

    // Saved after an epoch's last micro-batch, before its validation: the same epoch end at batch 8.
    r = rebase_case(&o, 4, 250, 125, 2, 250, 3 * 250 - 1);
    EXPECT_OK(run_resume_position(&r));
    EXPECT(r.start_epoch == 2 && r.start_batch == 125 && r.last_opt_step == 3 * 125 - 1);

    // A smaller batch: one pending micro-batch of 4 is two of 2.
    o.batch = 2;
    r = rebase_case(&o, 4, 250, 500, 3, 0, 3 * 250 - 2);
    EXPECT_OK(run_resume_position(&r));
    EXPECT(r.start_batch == 0 && r.last_opt_step == 3 * 500 - 1 - 2);

    // Any pending gradient stays at least one micro-batch (a save before the next step keeps it).
    o.batch = 64;
    r = rebase_case(&o, 4, 250, 16, 3, 0, 3 * 250 - 2);
    EXPECT_OK(run_resume_position(&r));
    EXPECT(r.last_opt_step == 3 * 16 - 1 - 1);

    // A position past the saved epoch's batches is a damaged state.
    r = rebase_case(&o, 4, 250, 16, 3, 251, 0);
    EXPECT_FAILS_WITH(run_resume_position(&r), "was saved at batch 251 of an epoch, which had 250 batches at batch=4");
}

// shapes8 as a dataset of one's own: dir/name/ with its images, labels and data.yaml (no path:,
// so the root is the YAML's folder and the dataset can move). yaml gets the YAML's path.
static bool make_dataset(const char *dir, const char *name, char *yaml, size_t cap) {
    char root[256];
    snprintf(root, sizeof root, "%s/%s", dir, name);
    snprintf(yaml, cap, "%s/data.yaml", root);
    FILE *f = NULL;
    if (shapes_generate("shapes8", root) != 0 || !(f = fopen(yaml, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot make %s: %s", root, yolo_error());
        yolo_error_clear();
        return false;
    }
    fputs("train: images/train\nval: images/val\nnames: [circle, triangle, square, hexagon, star]\n", f);
    fclose(f);
    return true;
}

// data= on resume (must-show of the contract): a run stopped after epoch 1 whose dataset folder
// then moved resumes from the new YAML with the bits of a run never stopped; any other dataset,
// or a moved one while the stored one is still there, is refused with nothing in the run changed.
TEST(resume_with_a_moved_dataset_is_exact_and_other_datasets_are_refused) {
    char dir_a[256], dir_b[256], yaml_a[512], yaml_b[512], moved[512], other[512], path[512], run_b[512];
    if (!scratch_make(dir_a, sizeof dir_a, "moved-a")) return;
    if (!scratch_make(dir_b, sizeof dir_b, "moved-b")) return;
    if (!make_dataset(dir_a, "ds", yaml_a, sizeof yaml_a) || !make_dataset(dir_b, "ds", yaml_b, sizeof yaml_b)) return;
    TrainOptions a = resume_tiny_detect(dir_a, 0);
    snprintf(a.data, sizeof a.data, "%s", yaml_a);
    EXPECT_OK(train_run(&a));

    TrainOptions b = resume_tiny_detect(dir_b, 1);
    snprintf(b.data, sizeof b.data, "%s", yaml_b);
    b.stop_after_epoch = 1;
    EXPECT(train_run(&b) == 130);
    b.stop_after_epoch = 0;
    snprintf(run_b, sizeof run_b, "%s/runs/train", dir_b);
    snprintf(b.resume, sizeof b.resume, "%s/weights/last.ckpt", run_b);
    int files = 0, files_now = 0;
    uint64_t before = folder_digest(run_b, &files);

    // A copy elsewhere while the stored dataset is still there: another dataset, however alike.
    if (!make_dataset(dir_b, "moved", moved, sizeof moved)) return;
    snprintf(b.data, sizeof b.data, "%s", moved);
    EXPECT_FAILS_WITH(train_run(&b), "which is still there, and a resumed run keeps its dataset");
    // The stored one gone: resuming without data= says to give it.
    snprintf(path, sizeof path, "%s/ds", dir_b);
    scratch_remove(path);
    snprintf(b.data, sizeof b.data, "%s", yaml_b);
    EXPECT_FAILS_WITH(train_run(&b), "which is gone: if the dataset moved, resume with data=");
    // A dataset with a changed label is not the moved one; the message names both YAMLs.
    if (!make_dataset(dir_b, "other", other, sizeof other)) return;
    snprintf(path, sizeof path, "%s/other/labels/train/00000.txt", dir_b);
    FILE *f = fopen(path, "a");
    if (f) {
        fputs("1 0.5 0.5 0.1 0.1\n", f);
        fclose(f);
    }
    snprintf(b.data, sizeof b.data, "%s", other);
    yolo_error_clear();
    EXPECT(train_run(&b) != 0);
    EXPECT(strstr(yolo_error(), "is not the dataset") && strstr(yolo_error(), yaml_b));
    EXPECT(strstr(yolo_error(), "other/data.yaml"));
    yolo_error_clear();
    EXPECT(folder_digest(run_b, &files_now) == before && files_now == files && files > 0);

    // The moved copy (same images and labels) resumes, and the checkpoint records where it is now.
    snprintf(b.data, sizeof b.data, "%s", moved);
    EXPECT_OK(train_run(&b));
    snprintf(path, sizeof path, "%s/runs/train/weights/last.ckpt", dir_a);
    expect_same_tensors(path, b.resume);
    snprintf(path, sizeof path, "%s/runs/train", dir_a);
    expect_same_results(path, run_b);
    Checkpoint ck;
    EXPECT_OK(checkpoint_open(b.resume, &ck));
    if (ck.state) {
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(ck.state, "dataset");
        const cJSON *where = cJSON_GetObjectItemCaseSensitive(ds, "yaml_path");
        EXPECT(cJSON_IsString(where) && !strcmp(where->valuestring, moved));
    }
    checkpoint_close(&ck);
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}
