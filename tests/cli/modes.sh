# Command-line tests of val and predict (src/cli/val_cmd.c, predict_cmd.c), sourced by run.sh in its
# scratch folder (where datasets/shapes8 exists), with its expect and check helpers and counters;
# on a 1-epoch model of their own.
expect "a 1-epoch run for val and predict" 0 "Results saved to runs/detect/modes" -- \
  detect train data=shapes8.yaml epochs=1 imgsz=64 batch=4 workers=0 name=modes
ckpt=runs/detect/modes/weights/last.ckpt
check "the run's train_batch0.jpg is a JPEG" test -n "$(image_size runs/detect/modes/train_batch0.jpg)"
expect_all "val prints the per-class table on the checkpoint's own dataset" 0 "^Validating $ckpt on data=shapes8.yaml \(the dataset it was trained on\), split=val, imgsz=64 \(as trained\)$" \
  "^ +all +4 +16 " "^ +circle +2 +3 " "^Speed: .*ms preprocess" "^Results saved to runs/detect/val$" -- detect val model=$ckpt
check "val writes metrics.json" grep -q '"metrics/mAP50-95(B)":' runs/detect/val/metrics.json
check "val writes its batch mosaics" test -n "$(image_size runs/detect/val/val_batch0_labels.jpg)" -a -n "$(image_size runs/detect/val/val_batch0_pred.jpg)"
check "val writes the confusion matrix and the PR curve" test -s runs/detect/val/confusion_matrix.png -a -s runs/detect/val/PR_curve.png
# The training's last validation ran at batch 2 x 4 and conf 0.001: val with batch=8 gives its mAP50-95.
map_csv=$(tail -n 1 runs/detect/modes/results.csv | cut -d, -f9)
expect "val at the training's validation batch gives its mAP50-95" 0 "Results saved to runs/detect/val2" -- detect val model=$ckpt batch=8
map_json=$(sed -nE 's/.*"metrics\/mAP50-95\(B\)":[[:space:]]*([^,]+),?/\1/p' runs/detect/val2/metrics.json)
check "metrics.json's mAP50-95 is results.csv's ($map_csv)" awk -v a="$map_csv" -v b="$map_json" 'BEGIN { exit !(b != "" && a - b < 1e-6 && b - a < 1e-6) }'
expect_all "val of a model YAML validates random weights with the dataset's classes" 0 \
  "WARNING: yolov8n.yaml has no trained weights" "^ +all +4 +16 " "^Results saved to runs/detect/val3$" -- \
  detect val model=yolov8n.yaml data=shapes8.yaml imgsz=64 plots=False
src=datasets/shapes8/images/val
expect_all "predict prints a line per image and the speed" 0 "^image 1/4 /.*/00000.jpg: 64x64 (2 [a-z]+s|1 [a-z]+, 1 [a-z]+), [0-9.]+ms$" \
  "^image 4/4 " "^Speed: .*ms preprocess, .*ms inference, .*ms postprocess per image at shape \(1, 3, 64, 64\)" \
  "^4 labels saved to runs/detect/predict/labels" -- detect predict model=$ckpt source=$src save_txt=True conf=0 max_det=2
n_ok=0
for f in $src/*; do
  stem=$(basename "${f%.*}")
  [ "$(image_size runs/detect/predict/$stem.jpg)" = "$(image_size "$f")" ] && [ "$(wc -l <runs/detect/predict/labels/$stem.txt)" -eq 2 ] && n_ok=$((n_ok + 1))
done
check "predict writes each image as a JPEG of its size and a label file of 2 objects" test $n_ok -eq 4 -a "$(ls runs/detect/predict | wc -l)" -eq 5
ls "$PWD/$src/00001.png" >list.txt
echo "$src/00002.jpg" >>list.txt
expect "predict reads a .txt list" 0 "image 2/2 .*00002.jpg" -- detect predict model=$ckpt source=list.txt save=False
expect "predict reads a glob" 0 "image 3/3 .*00003.jpg" -- detect predict model=$ckpt "source=$src/*.jpg" save=False
# Bad input: a message, a non-zero exit, and no new run folder.
mkdir -p empty noimages && printf 'not a jpeg' >empty/bad.jpg
folders=$(ls runs/detect | wc -l)
expect "val needs a model" 2 "val needs the model to validate: model=" -- detect val
expect "predict needs a model" 2 "predict needs a trained model" -- detect predict source=$src
expect "predict needs a source" 2 "predict needs source=" -- detect predict model=$ckpt
expect "predict refuses a model YAML" 1 "yolov8n.yaml is a model description without trained weights" -- detect predict model=yolov8n.yaml source=$src
expect "val names a missing checkpoint" 1 "nope.ckpt" -- detect val model=nope.ckpt
expect "predict names a missing source" 1 "source: nothere does not exist" -- detect predict model=$ckpt source=nothere
expect "predict refuses a folder without images" 1 "source=noimages: no images found" -- detect predict model=$ckpt source=noimages
expect "predict names an unreadable image" 1 "empty/bad.jpg" -- detect predict model=$ckpt source=empty
expect "val refuses conf above 1" 2 "'conf=1.5' is an invalid value" -- detect val model=$ckpt conf=1.5
expect "predict refuses conf below 0" 2 "'conf=-0.1' is an invalid value" -- detect predict model=$ckpt source=$src conf=-0.1
expect "val refuses another task's checkpoint" 1 "is a detect checkpoint, not a segment one; run it with .yolo detect val" -- segment val model=$ckpt
expect "predict refuses another task's checkpoint" 1 "is a detect checkpoint, not a classify one" -- classify predict model=$ckpt source=$src
expect "val refuses a key it does not take" 2 "'epochs' is not an argument of val" -- detect val model=$ckpt epochs=3
expect "predict refuses a key it does not take" 2 "'batch' is not an argument of predict" -- detect predict model=$ckpt source=$src batch=4
expect "val refuses a split the dataset lacks" 1 "has no test split" -- detect val model=$ckpt split=test
check "bad input left no run folder" test "$(ls runs/detect | wc -l)" -eq "$folders"
