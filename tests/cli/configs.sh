# Where an installed yolo finds its model and dataset YAMLs (src/io/config_dir.h): `meson install`
# stages configs/ under share/yolo, and the staged binary, told by YOLO_CONFIG_DIR to read them
# there, finds yolov8n.yaml and shapes8.yaml without the source tree; YOLO_CONFIG_DIR naming an
# empty folder shows that the source tree's configs/ is then not read. Sourced by run.sh (its
# $yolo, helpers and counters), in a folder of its own under run.sh's scratch folder.
configs_home=$PWD
mkdir -p configs-install/empty && cd configs-install || exit 1
stage=$PWD/stage
meson install -C "$(dirname "$yolo")" --destdir "$stage" --no-rebuild >install.log 2>&1
share=$(find "$stage" -type d -path '*/share/yolo' | head -n 1)
installed=$(find "$stage" -type f -path '*/bin/yolo' | head -n 1)
check "meson install stages the model and dataset YAMLs in share/yolo" \
  test -n "$share" -a -x "$installed" -a -f "$share/models/yolov8.yaml" -a -f "$share/datasets/shapes8.yaml"
YOLO_CONFIG_DIR=$share run_lines "checks names YOLO_CONFIG_DIR's folder" 0 \
  "^configs: $share \(YOLO_CONFIG_DIR: models and datasets found\)$" -- "$installed" checks
YOLO_CONFIG_DIR=$share run_lines "the installed yolo finds yolov8n.yaml in YOLO_CONFIG_DIR" 0 \
  "yolov8n.yaml summary \(nc=80\): 23 rows, [0-9]+ ops, 3,157,200 parameters" -- "$installed" detect info
YOLO_CONFIG_DIR=$share run_lines "the installed yolo finds shapes8.yaml in YOLO_CONFIG_DIR" 0 \
  "^ +all +4 +16 " -- "$installed" detect val model=yolov8n.yaml data=shapes8.yaml imgsz=64 plots=False
YOLO_CONFIG_DIR=$PWD/empty run_lines "YOLO_CONFIG_DIR takes the place of the source tree's models" 1 \
  "model yolov8n.yaml not found .*give a path or one of the files in $PWD/empty/models" -- "$installed" detect info
YOLO_CONFIG_DIR=$PWD/empty run_lines "YOLO_CONFIG_DIR takes the place of the source tree's datasets" 1 \
  "data=shapes8.yaml: no such file here, in the datasets directory datasets or in $PWD/empty/datasets" -- \
  "$installed" detect train data=shapes8.yaml epochs=1 imgsz=64
cd "$configs_home" || exit 1
