// Crashes (issue 6, must-show 4 and 5): a training process killed with SIGKILL after a periodic
// save, one killed while it writes a checkpoint (SIGXFSZ under a file size limit), and a save that
// fails with EFBIG. Each leaves a whole last.ckpt (or last.prev.ckpt) that resumes to the bits of
// a run never interrupted. The killed runs are child processes: the test process must survive.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/checkpoint.h"
#include "engine/trainer.h"
#include "resume_util.h"
#include "scratch.h"
#include "test.h"

// The size limit under which a checkpoint write cannot finish: yolov8n's .ckpt with AdamW is
// about 48 MB; results.csv, args.yaml and the label cache stay far below it.
static const rlim_t CKPT_WRITE_LIMIT = 16u << 20;

// Runs train_run(o) in a child process, optionally under a file size limit, with its output
// discarded; returns the wait status.
static int train_in_child(const TrainOptions *o, bool limit_file_size) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        struct rlimit no_core = {0, 0}, fsize = {CKPT_WRITE_LIMIT, CKPT_WRITE_LIMIT};
        setrlimit(RLIMIT_CORE, &no_core); // SIGXFSZ's default action dumps core
        if (limit_file_size) setrlimit(RLIMIT_FSIZE, &fsize);
        _exit(train_run(o) == 0 ? 0 : 1);
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) test_fail(__FILE__, __LINE__, "cannot run a training child process");
    return status;
}

// The position a checkpoint holds: epoch * 1000 + batch, or -1.
static int position(const char *path) {
    Checkpoint ck;
    if (checkpoint_open(path, &ck) != 0) {
        yolo_error_clear();
        return -1;
    }
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(ck.state, "epoch");
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(ck.state, "batch");
    int p = cJSON_IsNumber(epoch) && cJSON_IsNumber(batch) ? epoch->valueint * 1000 + batch->valueint : -1;
    checkpoint_close(&ck);
    return p;
}

// The uninterrupted reference: batch 2 on shapes8's 4 images, 3 epochs.
static bool reference_run(char *dir, size_t cap) {
    if (!scratch_make(dir, cap, "crash-a")) return false;
    TrainOptions a = resume_tiny_detect(dir, 0);
    a.batch = 2;
    EXPECT_OK(train_run(&a));
    return true;
}

static void expect_same_runs(const char *dir_a, const char *dir_b) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/runs/train/weights/last.ckpt", dir_a);
    snprintf(b, sizeof b, "%s/runs/train/weights/last.ckpt", dir_b);
    expect_same_tensors(a, b);
    snprintf(a, sizeof a, "%s/runs/train", dir_a);
    snprintf(b, sizeof b, "%s/runs/train", dir_b);
    expect_same_results(a, b);
}

// save_minutes as small as it gets: last.ckpt after every micro-batch that does not end an epoch
// (with 2 per epoch: after the first). SIGKILL after micro-batch 4 (epoch 2's second, before its
// validation and save) loses that micro-batch; the resume trains it again from the periodic save.
TEST(resume_after_sigkill_from_the_periodic_checkpoint_is_exact) {
    char dir_a[256], dir_b[256], ckpt[512];
    if (!reference_run(dir_a, sizeof dir_a)) return;
    if (!scratch_make(dir_b, sizeof dir_b, "crash-kill")) return;
    TrainOptions b = resume_tiny_detect(dir_b, 1);
    b.batch = 2;
    b.save_minutes = 1e-9;
    b.crash_after_batches = 4;
    int status = train_in_child(&b, false);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir_b);
    EXPECT(position(ckpt) == 1 * 1000 + 1); // epoch 1 done, 1 micro-batch of epoch 2
    b.crash_after_batches = 0;
    b.save_minutes = 0;
    b.workers = 2;
    snprintf(b.resume, sizeof b.resume, "%s", ckpt);
    EXPECT_OK(train_run(&b));
    expect_same_runs(dir_a, dir_b);
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}

// A process killed while it writes last.ckpt (SIGXFSZ once the file passes the size limit) leaves
// the previous last.ckpt whole; a save that fails with EFBIG (SIGXFSZ ignored) removes its
// temporary file, leaves last.ckpt as it was and says so. Resuming afterwards is exact.
TEST(resume_after_a_crash_or_a_failure_while_saving_is_exact) {
    char dir_a[256], dir_b[256], ckpt[512], tmp[600];
    if (!reference_run(dir_a, sizeof dir_a)) return;
    if (!scratch_make(dir_b, sizeof dir_b, "crash-save")) return;
    TrainOptions b = resume_tiny_detect(dir_b, 1);
    b.batch = 2;
    b.stop_after_epoch = 1;
    EXPECT(train_run(&b) == 130);
    b.stop_after_epoch = 0;
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir_b);
    snprintf(tmp, sizeof tmp, "%s.tmp", ckpt);
    snprintf(b.resume, sizeof b.resume, "%s", ckpt);

    // Killed in the middle of writing epoch 2's last.ckpt.tmp.
    int status = train_in_child(&b, true);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);
    struct stat st;
    EXPECT(stat(tmp, &st) == 0 && (rlim_t)st.st_size <= CKPT_WRITE_LIMIT); // the torn write
    EXPECT(position(ckpt) == 1 * 1000);

    // The same save failing with EFBIG, in this process.
    struct rlimit old, limit;
    getrlimit(RLIMIT_FSIZE, &old);
    limit = (struct rlimit){CKPT_WRITE_LIMIT, old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &limit);
    yolo_error_clear();
    int rc = train_run(&b);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    EXPECT(rc == -1 && strstr(yolo_error(), "File too large") && strstr(yolo_error(), "is untouched"));
    yolo_error_clear();
    EXPECT(access(tmp, F_OK) != 0);
    EXPECT(position(ckpt) == 1 * 1000);

    b.workers = 2;
    EXPECT_OK(train_run(&b));
    expect_same_runs(dir_a, dir_b);
    scratch_remove(dir_a);
    scratch_remove(dir_b);
}
