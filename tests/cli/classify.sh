# Classify CLI tests, sourced by run.sh (its expect and check, in its scratch folder, after the
# detect runs whose checkpoints the cross-task refusals use). The 8-image built-in dataset is
# generated into ./datasets (10 images of 5 classes); exactness is tests/test_classify_train.c.
expect "a 2-epoch classify training finishes" 0 "2 epochs completed in .* Results saved to runs/classify/train" -- \
  classify train data=shapes8-cls epochs=2 imgsz=32 batch=4 workers=1
header='epoch,time,train/loss,metrics/accuracy_top1,metrics/accuracy_top5,val/loss,lr/pg0,lr/pg1,lr/pg2'
check "results.csv has the classify columns and 2 rows" test "$(head -n 1 runs/classify/train/results.csv)" = "$header" -a "$(wc -l <runs/classify/train/results.csv)" -eq 3
check "the classify run folder has the checkpoints" test -s runs/classify/train/weights/last.ckpt -a -s runs/classify/train/weights/best.ckpt
expect "a classify run resumes, extended" 0 "Resuming runs/classify/train from epoch 3 of 3" -- \
  classify train resume model=runs/classify/train/weights/last.ckpt epochs=3
check "the extended classify run has 3 rows" test "$(wc -l <runs/classify/train/results.csv)" -eq 4
expect "classify resume refuses a detect checkpoint" 2 "is a detect checkpoint; resume it with .yolo detect train resume" -- \
  classify train resume model=runs/detect/train/weights/last.ckpt
expect "detect resume refuses a classify checkpoint" 2 "is a classify checkpoint; resume it with .yolo classify train resume" -- \
  detect train resume model=runs/classify/train/weights/last.ckpt
expect "a classify run cannot start from a detect checkpoint" 1 "is a detect checkpoint; a classify run cannot start from it" -- \
  classify train model=runs/detect/train/weights/last.ckpt data=shapes8-cls epochs=1 imgsz=32
expect "classify refuses a detect model" 1 "is a detect model; .yolo classify train. needs a classify model such as yolov8n-cls.yaml" -- \
  classify train model=yolov8n.yaml data=shapes8-cls epochs=1 imgsz=32
expect "classify names a missing dataset folder" 1 "data=nope: no such folder .*train/<class>/ and val/<class>/" -- \
  classify train data=nope epochs=1 imgsz=32
expect "classify refuses an auto_augment it lacks" 2 "auto_augment=augmix is not supported yet; use auto_augment=randaugment or auto_augment=None" -- \
  classify train auto_augment=augmix data=shapes8-cls epochs=1 imgsz=32
check "failed classify runs left no run folder" test ! -e runs/classify/train2
