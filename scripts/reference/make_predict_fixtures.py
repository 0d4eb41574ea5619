"""Writes tests/fixtures/predict/: five small PNG images of different shapes and what Ultralytics'
DetectionPredictor makes of them with the tiny detect network of tests/fixtures/yolov8-detect.*
(its weights, in eval mode): the letterboxed input size (LetterBox with auto=True at imgsz 96,
stride 32) and the boxes in the original image's pixels, their scores and classes
(predict.json). tests/test_predict.c runs our pre-processing, the detect task's prediction hook
and the mapping back to the image, and compares.

Run with the venv that setup.sh creates:
    scripts/reference/.venv/bin/python scripts/reference/make_predict_fixtures.py
"""

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ["YOLO_OFFLINE"] = "true"
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(__file__).resolve().parent / ".venv" / "ultralytics-config"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
import yaml  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402
from ultralytics.data.augment import LetterBox  # noqa: E402
from ultralytics.models.yolo.detect import DetectionPredictor  # noqa: E402
from ultralytics.nn.tasks import DetectionModel  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "predict"
IMGSZ = 96
CONF = 0.25
IOU = 0.7
# (width, height): padded only (rows, evenly and oddly; columns), shrunk, enlarged. Ultralytics
# resizes with OpenCV's fixed-point arithmetic, whose pixels may differ from ours by 1: the network
# below is made insensitive to that (see calibrate).
SIZES = [(96, 58), (96, 75), (50, 96), (100, 60), (64, 48)]
# Calibration: random images besides the fixture's, and the least running variance kept.
NOISE_IMAGES = 8
MIN_RUNNING_VAR = 0.1


def image(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A grey gradient with a few filled rectangles and circles (RGB)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), np.full_like(x, 114)], -1).astype(np.uint8)
    for _ in range(4):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        x1, y1 = int(rng.integers(x0 + 6, w)), int(rng.integers(y0 + 6, h))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.circle(img, ((x0 + x1) // 2, (y0 + y1) // 2), max(3, min(x1 - x0, y1 - y0) // 2), colour, -1)
    return img


def model() -> DetectionModel:
    cfg = yaml.safe_load((FIXTURES / "yolov8-detect.yaml").read_text())
    cfg["scale"] = "n"
    m = DetectionModel(cfg, ch=3, nc=3, verbose=False)
    weights = {k: torch.from_numpy(v) for k, v in load_file(str(FIXTURES / "yolov8-detect.safetensors")).items()
               if not k.startswith(("input.", "output.", "after."))}
    missing, unexpected = m.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    return m


def calibrate(m: DetectionModel, images: list) -> dict:
    """The fixture's BN running statistics are random, which drowns the image in the activations
    (every image gets the same boxes). One train-mode forward with momentum 1 over the letterboxed
    images and some noise sets them to batch statistics, so that the image decides the boxes; the
    variances are kept >= MIN_RUNNING_VAR, or near-constant channels would amplify the 1-level
    pixel differences of resizing (and PyTorch's BN folding) into other boxes. Returns the
    statistics (they go to predict/bn.safetensors; the C test loads them over the fixture's)."""
    batch = [LetterBox(IMGSZ, auto=False)(image=im)[..., ::-1].copy() for im in images]
    noise = np.random.default_rng(5)
    batch += [noise.integers(0, 256, (IMGSZ, IMGSZ, 3), dtype=np.uint8) for _ in range(NOISE_IMAGES)]
    batch = torch.stack([torch.from_numpy(x) for x in batch]).permute(0, 3, 1, 2).float() / 255
    bns = [x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)]
    momentum = bns[0].momentum
    for bn in bns:
        bn.momentum = 1.0
    m.train()
    with torch.no_grad():
        m(batch)
        for bn in bns:
            bn.momentum = momentum
            bn.running_var.clamp_(min=MIN_RUNNING_VAR)
    m.eval()
    return {k: v.detach().numpy().astype(np.float32).copy() for k, v in m.state_dict().items()
            if k.endswith(("running_mean", "running_var"))}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(3)
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = OUT / f"image{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image(w, h, rng), cv2.COLOR_RGB2BGR))
        paths.append(path)
    net = model()
    stats = calibrate(net, [cv2.imread(str(p)) for p in paths])
    save_file(stats, str(OUT / "bn.safetensors"), metadata={"source": "scripts/reference/make_predict_fixtures.py"})
    os.chmod(OUT / "bn.safetensors", 0o644)
    # rect=True as Model.predict sets it: with it (and one image at a time) LetterBox runs with auto=True.
    predictor = DetectionPredictor(overrides=dict(imgsz=IMGSZ, conf=CONF, iou=IOU, max_det=300, rect=True, save=False, verbose=False))
    images = []
    for path in paths:
        original = cv2.imread(str(path))
        letterboxed = LetterBox(IMGSZ, auto=True, stride=32)(image=original)
        (result,) = predictor(source=str(path), model=net)
        boxes = result.boxes
        images.append({
            "file": path.name,
            "width": original.shape[1], "height": original.shape[0],
            "input_width": letterboxed.shape[1], "input_height": letterboxed.shape[0],
            "boxes": boxes.xyxy.tolist(), "scores": boxes.conf.tolist(), "classes": boxes.cls.int().tolist(),
        })
        print(f"{path.name}: {original.shape[1]}x{original.shape[0]} -> input {letterboxed.shape[1]}x"
              f"{letterboxed.shape[0]}, {len(boxes)} boxes, scores {[round(s, 3) for s in boxes.conf.tolist()]}")
    doc = {"ultralytics": ultralytics.__version__, "torch": torch.__version__, "imgsz": IMGSZ, "conf": CONF, "iou": IOU,
           "model": "tests/fixtures/yolov8-detect.yaml with yolov8-detect.safetensors, eval mode",
           "running_stats": "predict/bn.safetensors", "images": images}
    (OUT / "predict.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
