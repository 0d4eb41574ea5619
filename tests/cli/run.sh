#!/usr/bin/env bash
# Command-line tests: runs the yolo binary given as $1 and checks exit codes and output.
# Ends with "N passed, N failed".
set -u
yolo=$(realpath "$1") # absolute: some tests run in a scratch folder
here=$(cd "$(dirname "$0")" && pwd) # tests/cli, absolute for the same reason
passed=0
failed=0

# expect, check, image_size, ...: the helpers every test script uses.
. "$here/lib.sh"

expect "version prints the version" 0 '^[0-9]+\.[0-9]+\.[0-9]+' -- version
expect "help shows the grammar" 0 'yolo TASK MODE key=value' -- help
expect "no arguments prints help" 0 'usage: yolo' --
expect "unknown word fails with a hint" 2 "see 'yolo help'" -- frobnicate
expect "detect info counts yolov8n exactly" 0 'yolov8n.yaml summary \(nc=80\): 23 rows, [0-9]+ ops, 3,157,200 parameters, 3,157,184 gradients, 8\.7 GFLOPs' -- detect info model=yolov8n.yaml
expect "segment info defaults to yolov8n-seg" 0 '3,409,968 parameters' -- segment info
expect "classify info at 224" 0 '2,719,288 parameters.*imgsz=224' -- classify info
# nc=3 shrinks each level's class branch (c3 = max(64, min(nc, 100)) = 64 instead of 80): by hand,
# 515,760 - 369,993 = 145,767 fewer parameters than yolov8n's 3,157,200.
expect "info nc= overrides the classes" 0 'nc=3\).*3,011,433 parameters' -- detect info nc=3
expect "info rejects a model of another task" 1 'is a classify model; run .yolo classify info' -- detect info model=yolov8n-cls.yaml
expect "info rejects an unknown key" 1 "'epochs' is not an argument of info" -- detect info epochs=3
expect "info rejects a bad imgsz" 1 'imgsz=33 must be a multiple of 32' -- detect info imgsz=33
expect "info names a missing model" 1 'model nope.yaml not found' -- detect info model=nope.yaml

# The grammar (ultralytics-behaviour.md §1); the exact messages are in tests/test_args.c.
expect "-h is help" 0 'usage: yolo' -- -h
expect "--help is help, without a warning about dashes" 0 '^usage: yolo' -- --help
expect "cfg prints every default" 0 'lr0: 0\.01 ' -- cfg
expect "checks reports the build" 0 'configs: .*models and datasets found' -- checks
# device=0 fails before training with what is missing: CUDA in this build, a GPU on this machine, or
# (GPU present) the trainer's GPU wiring. Never a silent CPU run.
expect "device=0 says why it cannot train on a GPU" 2 'device=0: .*(built without CUDA support|sees no GPU|not wired into the trainer yet).*use device=cpu' -- detect train device=0 epochs=3
expect "device=cuda:1 is a GPU request too" 2 'device=cuda:1: .*use device=cpu' -- detect train device=cuda:1 epochs=3
expect "device=mps is refused" 2 "device=mps: mps is Apple's GPU" -- detect train device=mps epochs=3
expect "checks reports CUDA support" 0 'CUDA: (built in \(runtime [0-9.]+, cuBLAS ([0-9.]+|not loadable), cuDNN [0-9.]+\)|not built in)' -- checks
expect "the mode defaults to train with a warning" 2 "WARNING: 'mode' argument is missing.*Using default 'mode=train'" -- epochs=3 device=0
expect "an unknown key suggests close ones" 2 "'epoch' is not a valid YOLO argument. Similar arguments are i.e. \['epochs=100'\]" -- detect train epoch=3
expect "a bare non-bool key asks for '='" 2 "'epochs' is a valid YOLO argument but is missing an '=' sign to set its value, i.e. try 'epochs=100'" -- detect train epochs 10
expect "a fraction out of range" 2 "'fraction=1.5' is an invalid value. Valid 'fraction' values are > 0.0 and <= 1.0." -- detect train fraction=1.5
expect "epochs=10.0 is not an int" 2 "'epochs=10.0' is of invalid type float. 'epochs' must be an int \(i.e. 'epochs=100'\)" -- detect train epochs=10.0
expect "AutoBatch is not available" 2 "'batch=-1' asks for AutoBatch" -- detect train batch=-1
expect "loose '=' fragments are joined" 0 "summary \(nc=3\).*imgsz=320" -- detect info imgsz = 320 nc= 3
expect "--key=value works with a warning" 0 "WARNING: argument '--imgsz=320' does not require leading dashes" -- detect info --imgsz=320
expect "nc= belongs to info" 2 "'nc=3' is an argument of 'yolo TASK info' only" -- detect train nc=3

# copy-cfg writes default_copy.yaml into the current folder: run it in a scratch one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 1
expect "copy-cfg writes default_copy.yaml here" 0 "default.yaml copied to $scratch/default_copy.yaml" -- copy-cfg
check "default_copy.yaml is what cfg prints" cmp -s default_copy.yaml <("$yolo" cfg)
printf 'imgsz: 320\nnc: 3\n' >info.yaml
expect "cfg= takes arguments from a file" 0 "summary \\(nc=3\\).*imgsz=320" -- cfg=info.yaml detect info
printf 'nc: 3\n' >nc.yaml
expect "cfg= replaces the words before it" 0 "summary \\(nc=3\\).*imgsz=640" -- imgsz=416 cfg=nc.yaml detect info
printf 'epochs: x\n' >bad.yaml
expect "a cfg file is checked like the command line" 2 "bad.yaml:1: 'epochs=x' is of invalid type str" -- detect train cfg=bad.yaml
# Segment training, on its own 8-image dataset and run folders.
. "$here/segment.sh"

# A whole training run on the 8-image built-in dataset (generated into ./datasets here): exit 0,
# and the run folder with Ultralytics' detect columns and the checkpoints.
expect "a 2-epoch detect training finishes" 0 "2 epochs completed in .* Results saved to runs/detect/train" -- \
  detect train data=shapes8.yaml epochs=2 imgsz=64 batch=4 workers=1
header='epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,val/dfl_loss,lr/pg0,lr/pg1,lr/pg2'
check "results.csv has the detect columns and 2 rows" test "$(head -n 1 runs/detect/train/results.csv)" = "$header" -a "$(wc -l <runs/detect/train/results.csv)" -eq 3
check "the run folder has args.yaml and the checkpoints" test -s runs/detect/train/args.yaml -a -s runs/detect/train/weights/last.ckpt -a -s runs/detect/train/weights/best.ckpt
check "args.yaml records the arguments" grep -q '^epochs: 2$' runs/detect/train/args.yaml
# Plots (plots=True by default): results.png after every epoch, the final validation's confusion
# matrices and curves.
check "results.png is a 1570x740 PNG" test "$(image_size runs/detect/train/results.png)" = 1570x740
check "confusion_matrix.png is a 947x829 PNG" test "$(image_size runs/detect/train/confusion_matrix.png)" = 947x829
check "confusion_matrix_normalized.png is a 947x829 PNG" test "$(image_size runs/detect/train/confusion_matrix_normalized.png)" = 947x829
check "PR, F1, P and R curves are 1350x900 PNGs" test "$(for c in PR F1 P R; do image_size runs/detect/train/${c}_curve.png; done | sort -u)" = 1350x900

# Python interop: Python's safetensors opens the checkpoint and reads its tensors and metadata
# (tests/interop/read_checkpoint.py). tests/interop/python.sh finds or makes (once, cached in
# build/interop-venv) a Python with safetensors; without one (no network for pip) it is skipped.
if interop_py=$("$here/../interop/python.sh"); then
  read_ckpt() {
    "$interop_py" "$here/../interop/read_checkpoint.py" "$@" 2>&1 | sed 's/^/    /'
    return "${PIPESTATUS[0]}"
  }
  check "Python's safetensors reads last.ckpt's tensors and metadata" \
    read_ckpt runs/detect/train/weights/last.ckpt --task detect --epoch 2
else
  echo "skip python interop: $interop_py"
fi

expect "a second run goes to train2" 0 "Results saved to runs/detect/train2" -- detect train data=shapes8.yaml epochs=1 imgsz=64 batch=4 workers=0

# Resume (shared/docs/checkpoint-and-resume.md); exactness is tests/test_resume*.c.
runs_before=$(digest runs)
expect "resume refuses a finished run and says how to extend it" 2 "is a finished run \(2 epochs\); to train it further, extend it: .*epochs=" -- \
  detect train resume model=runs/detect/train/weights/last.ckpt
expect "resume refuses best.ckpt and names last.ckpt" 2 "resume from runs/detect/train/weights/last.ckpt" -- \
  detect train resume=runs/detect/train/weights/best.ckpt
expect "resume refuses another task's checkpoint" 2 "is a detect checkpoint; resume it with .yolo detect train resume" -- \
  segment train resume model=runs/detect/train/weights/last.ckpt
expect "resume refuses a changed training argument" 2 "lr0=0.02: a resumed run keeps its arguments .*start a new run: yolo detect train model=" -- \
  detect train resume model=runs/detect/train/weights/last.ckpt epochs=3 lr0=0.02
expect "resume refuses epochs at or below those done" 2 "epochs=1: .* has done 2 epochs already" -- \
  detect train resume model=runs/detect/train/weights/last.ckpt epochs=1
expect "resume names a missing checkpoint" 2 "nope.ckpt" -- detect train resume=nope.ckpt
expect "resume refuses a file that is not a checkpoint" 2 "args.yaml" -- detect train resume=runs/detect/train/args.yaml
check "the refused resumes changed nothing under runs/" test "$(digest runs)" = "$runs_before"
expect "bare resume continues the newest run, extended" 0 "Resuming runs/detect/train2 from epoch 2 of 2" -- detect train resume epochs=2
check "a resumed run appends to results.csv" test "$(wc -l <runs/detect/train2/results.csv)" -eq 3
expect "resume extends a run with epochs=" 0 "Resuming runs/detect/train from epoch 3 of 3" -- \
  detect train resume model=runs/detect/train/weights/last.ckpt epochs=3 workers=0
check "the extended run has 3 rows and records epochs=3" test "$(wc -l <runs/detect/train/results.csv)" -eq 4 -a "$(grep -c '^epochs: 3$' runs/detect/train/args.yaml)" -eq 1
# batch= on resume (issue 6, must-show 9): a notice, results.csv goes on, and from then on the run
# resumes at the new batch like any other (bitwise: tests/test_resume_changes.c).
expect "resume with another batch says the run is no longer bit-identical" 0 \
  "batch=2 \(was 4\): the run is no longer bit-identical.*accumulation after warmup: 32 micro-batches \(was 16\)" -- \
  detect train resume model=runs/detect/train/weights/last.ckpt epochs=4 batch=2 workers=0
check "the batch-changed run appends its row and records batch=2" test "$(wc -l <runs/detect/train/results.csv)" -eq 5 -a "$(grep -c '^batch: 2$' runs/detect/train/args.yaml)" -eq 1
again=$("$yolo" detect train resume model=runs/detect/train/weights/last.ckpt epochs=5 2>&1)
again_rc=$?
check "resuming again at batch=2 goes on without a notice" test "$again_rc" -eq 0 \
  -a -n "$(printf '%s' "$again" | grep 'Resuming runs/detect/train from epoch 5 of 5')" -a -z "$(printf '%s' "$again" | grep 'bit-identical')"
check "the second resume kept batch=2 and appended its row" test "$(grep -c '^batch: 2$' runs/detect/train/args.yaml)" -eq 1 -a "$(wc -l <runs/detect/train/results.csv)" -eq 6

# data= on resume: a dataset of its own (shapes8's files with a YAML beside them), trained, moved.
mkdir mv1 && cp -r datasets/shapes8/images datasets/shapes8/labels mv1/ &&
  printf 'train: images/train\nval: images/val\nnames: [circle, triangle, square, hexagon, star]\n' >mv1/data.yaml
expect "a run on a dataset folder of its own" 0 "Results saved to runs/detect/moved" -- \
  detect train data=mv1/data.yaml epochs=1 imgsz=64 batch=4 workers=0 name=moved
mv mv1 mv2
cp -r mv2 mv3
echo '1 0.5 0.5 0.1 0.1' >>mv3/labels/train/00000.txt
moved_before=$(digest runs/detect/moved)
expect "resume says to give data= when the dataset is gone" 1 "mv1/data.yaml, which is gone: if the dataset moved, resume with data=" -- \
  detect train resume model=runs/detect/moved/weights/last.ckpt epochs=2
expect "resume refuses another dataset under data= and names both" 1 "mv3/data.yaml is not the dataset .*was trained on \(.*mv1/data.yaml, now gone\)" -- \
  detect train resume model=runs/detect/moved/weights/last.ckpt epochs=2 data=mv3/data.yaml
check "the refused resumes changed nothing in the run folder" test "$(digest runs/detect/moved)" = "$moved_before"
expect "resume takes the moved dataset with data=" 0 "the dataset moved from .*mv1/data.yaml \(gone\) to .*mv2/data.yaml" -- \
  detect train resume model=runs/detect/moved/weights/last.ckpt epochs=2 data=mv2/data.yaml
check "args.yaml records the new data=" grep -q '^data: mv2/data.yaml$' runs/detect/moved/args.yaml
cp -r mv2 mv1
expect "resume refuses a new data= while the stored dataset is there" 1 "which is still there, and a resumed run keeps its dataset" -- \
  detect train resume model=runs/detect/moved/weights/last.ckpt epochs=3 data=mv1/data.yaml
# Both generations damaged (a copy of the run): one error naming both, and nothing changed.
cp -r runs/detect/moved runs/detect/broken
for f in runs/detect/broken/weights/last.ckpt runs/detect/broken/weights/last.prev.ckpt; do
  printf 'XXXX' | dd of=$f bs=1 seek=$(($(stat -c %s $f) - 16)) conv=notrunc 2>/dev/null
done
broken_before=$(digest runs/detect/broken)
expect "resume refuses when last.ckpt and last.prev.ckpt are both damaged" 2 \
  "last.ckpt is damaged.*and the previous generation .*last.prev.ckpt is not usable either" -- \
  detect train resume model=runs/detect/broken/weights/last.ckpt epochs=3
check "the refused resume changed nothing in the run folder" test "$(digest runs/detect/broken)" = "$broken_before"
rm -r mv2
expect "checkpoint says when the dataset is gone" 0 "dataset: .*mv2/data.yaml, fingerprint [0-9a-f]{16}: GONE \(if it moved, resume with data=" -- \
  checkpoint runs/detect/moved/weights/last.ckpt
ckpt=runs/detect/train2/weights/last.ckpt
printf 'XXXX' | dd of=$ckpt bs=1 seek=$(($(stat -c %s $ckpt) - 16)) conv=notrunc 2>/dev/null
expect "a damaged last.ckpt falls back to last.prev.ckpt" 0 "WARNING: .*is damaged.*previous generation .*last.prev.ckpt" -- \
  detect train resume model=$ckpt epochs=3

# interrupt NAME SIGNAL STATUS ARGS...: starts yolo ARGS, sends SIGNAL once the run folder's
# results.csv grows by a row, and expects exit STATUS and the resume command in the output.
interrupt() {
  local name=$1 sig=$2 want_rc=$3 csv=runs/detect/sig/results.csv
  shift 3
  local rows=0
  [ -f $csv ] && rows=$(wc -l <$csv)
  "$yolo" "$@" >sig.out 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    [ -f $csv ] && [ "$(wc -l <$csv)" -gt $((rows == 0 ? 1 : rows)) ] && break
    sleep 0.05
  done
  kill -"$sig" $pid
  wait $pid
  local rc=$?
  if [ $rc -eq "$want_rc" ] && grep -q "Resume with:" sig.out && grep -q "yolo detect train resume model=runs/detect/sig/weights/last.ckpt" sig.out; then
    pass "$name"
  else
    fail "$name: exit $rc (want $want_rc), output:"
    tail -n 5 sig.out | sed 's/^/    /'
  fi
}
interrupt "SIGINT saves last.ckpt, prints the resume command and exits 130" INT 130 \
  detect train data=shapes8.yaml epochs=200 imgsz=64 batch=2 workers=0 name=sig
interrupt "SIGTERM on a resumed run exits 143" TERM 143 detect train resume model=runs/detect/sig/weights/last.ckpt
sig_before=$(digest runs/detect/sig)
# This shell holds the run folder's lock as a training process would.
exec 9>runs/detect/sig/weights/.lock
flock 9
expect "resume refuses a run folder another process trains" 1 "runs/detect/sig is being trained by another process" -- \
  detect train resume model=runs/detect/sig/weights/last.ckpt
exec 9>&-
expect "checkpoint shows what a .ckpt holds" 0 "integrity:  whole.*" -- checkpoint runs/detect/sig/weights/last.ckpt
expect "checkpoint checks the dataset's fingerprint" 0 "dataset: .*shapes8.yaml, fingerprint [0-9a-f]{16}: the same training images and labels" -- \
  checkpoint runs/detect/sig/weights/last.ckpt
expect "checkpoint lists the arguments that differ from the defaults" 0 "arguments: .*epochs=200 batch=2 imgsz=64 workers=0 name=sig" -- \
  checkpoint runs/detect/sig/weights/last.ckpt
printf 'XXXX' | dd of=$ckpt bs=1 seek=$(($(stat -c %s $ckpt) - 16)) conv=notrunc 2>/dev/null
expect "checkpoint reports a damaged file" 1 "integrity:  DAMAGED" -- checkpoint $ckpt
label=datasets/shapes8/labels/train/00000.txt
cp $label label.bak
sed -i '1s/^[0-9]* /0 /' $label
echo '1 0.5 0.5 0.1 0.1' >>$label
expect "checkpoint says the dataset changed" 0 "dataset: .*shapes8.yaml, fingerprint [0-9a-f]{16}: CHANGED \(now [0-9a-f]{16}\)" -- \
  checkpoint runs/detect/sig/weights/last.ckpt
expect "resume refuses a changed dataset" 1 "the training images or labels of shapes8.yaml changed since" -- \
  detect train resume model=runs/detect/sig/weights/last.ckpt
check "the refused resumes changed nothing in the run folder" test "$(digest runs/detect/sig)" = "$sig_before"
cp label.bak $label

expect "plots=False trains without drawing" 0 "1 epochs completed" -- \
  detect train data=shapes8.yaml epochs=1 imgsz=64 batch=4 workers=0 plots=False name=noplots
check "plots=False writes no PNG" test -f runs/detect/noplots/results.csv -a -z "$(ls runs/detect/noplots/*.png 2>/dev/null)"
# Datasets from the network, against a local HTTP server.
. "$here/download.sh"
# val and predict, on a model of their own.
. "$here/modes.sh"
# Classify training, resume and the refusals between tasks.
. "$here/classify.sh"
# Segment and classify predict and val, on the runs above.
. "$here/predict_tasks.sh"
# The C API: its example program, and building against an installed copy.
. "$here/api.sh"
# Model and dataset YAMLs of an installed yolo.
. "$here/configs.sh"
cd - >/dev/null || exit 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
