# Command-line tests of segment and classify val and predict, sourced by run.sh in its scratch
# folder after segment.sh, modes.sh and classify.sh (their runs/*/train checkpoints and datasets,
# and expect_all and image_size from lib.sh). Exactness against Ultralytics is
# tests/test_segment_predict.c and test_classify_predict.c; here: the files and their formats.
seg=runs/segment/train/weights/last.ckpt
src=datasets/shapes8-seg/images/val
# conf=0: the 2-epoch model's scores are low; objects whose mask is empty are still dropped.
expect_all "segment predict prints a line per image and saves polygon labels" 0 \
  "^image 1/4 /.*/00000.jpg: 64x64 [0-9]+ [a-z]+.*ms$" "^image 4/4 " "^[1-4] labels? saved to runs/segment/predict/labels" -- \
  segment predict model=$seg source=$src save_txt=True conf=0 max_det=5
n_ok=0
for f in $src/*; do
  stem=$(basename "${f%.*}")
  [ "$(image_size runs/segment/predict/$stem.jpg)" = "$(image_size "$f")" ] && n_ok=$((n_ok + 1))
done
check "segment predict writes each image as a JPEG of its size" test $n_ok -eq 4
# A segment label line: a class of shapes8-seg, then x y pairs normalised to [0, 1] (Masks.xyn).
polygon_lines_ok() {
  cat runs/segment/predict/labels/*.txt | awk '
    { if (NF < 3 || NF % 2 == 0 || $1 !~ /^[0-4]$/) bad++
      for (i = 2; i <= NF; i++) if ($i < 0 || $i > 1) bad++
      lines++ }
    END { exit !(lines > 0 && bad == 0) }'
}
check "segment labels are a class and a polygon in [0, 1]" polygon_lines_ok
expect_all "segment val writes its Box and Mask curves and the confusion matrix" 0 "^Results saved to runs/segment/val$" -- \
  segment val model=$seg
check "segment val's BoxPR, BoxF1, ..., MaskR curves are 1350x900 PNGs" test "$(for c in Box Mask; do for k in PR F1 P R; do
  image_size runs/segment/val/${c}${k}_curve.png; done; done | sort | uniq -c | sed 's/^ *//')" = "8 1350x900"
check "segment val's confusion matrices are detect's size (5 classes and background)" test \
  "$(image_size runs/segment/val/confusion_matrix.png) $(image_size runs/segment/val/confusion_matrix_normalized.png)" = "947x829 947x829"

cls=runs/classify/train/weights/last.ckpt
expect_all "classify predict prints the top 5 of each image" 0 \
  "^image 1/5 /.*/circle_0000.jpg: 32x32 ([a-z]+ [01]\.[0-9]{2}, ){5}[0-9.]+ms$" "^5 labels saved to runs/classify/predict/labels" -- \
  classify predict model=$cls "source=datasets/shapes8-cls/val/*/*" save_txt=True
n_ok=0
for f in datasets/shapes8-cls/val/*/*; do
  stem=$(basename "${f%.*}")
  [ "$(image_size runs/classify/predict/$stem.jpg)" = "$(image_size "$f")" ] && n_ok=$((n_ok + 1))
done
check "classify predict writes each image as a JPEG of its size" test $n_ok -eq 5
# Ultralytics' classify label: 5 lines "score name", scores to 2 places, highest first, each class once.
top5_lines_ok() {
  for f in runs/classify/predict/labels/*.txt; do
    awk 'NF != 2 || $1 !~ /^[01]\.[0-9][0-9]$/ || $2 !~ /^(circle|triangle|square|hexagon|star)$/ || (NR > 1 && $1 > prev) || seen[$2]++ { bad++ }
         { prev = $1 } END { exit !(NR == 5 && bad == 0) }' "$f" || return 1
  done
}
check "classify labels are the top 5 as 'score name' lines" top5_lines_ok
expect_all "classify val writes its confusion matrices" 0 "^Results saved to runs/classify/val$" -- classify val model=$cls
check "classify val's confusion matrices are PNGs smaller than detect's (no background row)" test \
  "$(image_size runs/classify/val/confusion_matrix.png)" = "$(image_size runs/classify/val/confusion_matrix_normalized.png)" -a \
  -n "$(image_size runs/classify/val/confusion_matrix.png)" -a "$(image_size runs/classify/val/confusion_matrix.png)" != 947x829
