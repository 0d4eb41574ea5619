#!/usr/bin/env bash
# Creates scripts/reference/.venv: Ultralytics 8.3.127 (the version /work/shared/docs/yolov8-spec.md
# describes) on Debian's CPU build of PyTorch, for regenerating the parity fixtures in
# tests/fixtures/. Building and testing the C project never needs it.
#
# PyPI's torch wheels pull gigabytes of CUDA libraries, so torch and torchvision come from Debian
# (torch 1.13) and the venv sees them through --system-site-packages. Ultralytics is installed
# without its declared dependencies, which would pull PyPI's torch again; only the few modules
# that building a model imports are added, pinned to versions that work with Debian's numpy 1.24.
set -euo pipefail
cd "$(dirname "$0")"

debian_packages=(python3-venv python3-torch python3-torchvision python3-numpy python3-yaml python3-pil
                 python3-psutil python3-requests)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
.venv/bin/pip install -q --no-deps ultralytics==8.3.127 opencv-python-headless==4.10.0.84 tqdm==4.70.1 \
  safetensors==0.8.0

# YOLO_OFFLINE stops Ultralytics probing the internet on import; YOLO_CONFIG_DIR keeps the
# settings file it writes inside the venv.
YOLO_OFFLINE=true YOLO_CONFIG_DIR="$PWD/.venv/ultralytics-config" .venv/bin/python -c '
import torch, ultralytics, safetensors
from ultralytics.nn.tasks import DetectionModel, SegmentationModel, ClassificationModel
print(f"reference venv ready: ultralytics {ultralytics.__version__}, torch {torch.__version__}")'
