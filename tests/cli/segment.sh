# Command-line tests of segment training, sourced by run.sh in its scratch folder, with its expect
# and check helpers and counters. On the 8-image polygon dataset: Ultralytics' segment columns and
# the checkpoints; a box-only dataset is refused before anything is written; a segment checkpoint
# is not a detect one.
expect "a 2-epoch segment training finishes" 0 "2 epochs completed in .* Results saved to runs/segment/train" -- \
  segment train data=shapes8-seg.yaml epochs=2 imgsz=64 batch=4 workers=1
seg_header='epoch,time,train/box_loss,train/seg_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),metrics/precision(M),metrics/recall(M),metrics/mAP50(M),metrics/mAP50-95(M),val/box_loss,val/seg_loss,val/cls_loss,val/dfl_loss,lr/pg0,lr/pg1,lr/pg2'
check "segment results.csv has the segment columns and 2 rows" test "$(head -n 1 runs/segment/train/results.csv)" = "$seg_header" -a "$(wc -l <runs/segment/train/results.csv)" -eq 3
check "the segment run folder has the checkpoints" test -s runs/segment/train/weights/last.ckpt -a -s runs/segment/train/weights/best.ckpt
expect "segment train refuses a box-only dataset" 1 "shapes8.yaml is not a segment dataset: its training labels carry no polygons.*yolo detect train data=shapes8.yaml" -- \
  segment train data=shapes8.yaml epochs=1 imgsz=64 batch=4
check "the refused segment run left no run folder" test ! -e runs/segment/train2
expect "segment train refuses overlap_mask=False" 2 "overlap_mask=False \(one mask per object\) is not supported yet" -- \
  segment train data=shapes8-seg.yaml overlap_mask=False
expect "detect resume refuses a segment checkpoint" 2 "is a segment checkpoint; resume it with .yolo segment train resume" -- \
  detect train resume model=runs/segment/train/weights/last.ckpt epochs=3
