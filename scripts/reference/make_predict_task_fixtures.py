"""Writes the segment and classify prediction fixtures into tests/fixtures/predict/: what
Ultralytics' SegmentationPredictor and ClassificationPredictor make of the five images that
make_predict_fixtures.py drew (image0..4.png), with the tiny segment and classify networks of
tests/fixtures/yolov8-seg.* and yolov8-cls.* in eval mode. tests/test_segment_predict.c and
tests/test_classify_predict.c run our pre-processing, forward and prediction hooks and compare.

  segment.json: per image the input size (LetterBox auto=True at imgsz 96), boxes in the original
    image's pixels, scores, classes, each mask at the input's resolution (retina_masks=False) as
    run lengths, and the label lines save_txt writes (class and the mask's polygon, Masks.xyn).
  classify.json: per image the top-5 classes and their probabilities at imgsz 64, and the label
    lines save_txt writes ("score name").
  contours.json: small masks (holes, objects inside holes, lines one pixel wide, single pixels,
    the edges, random ones) with OpenCV's findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) and
    the polygon merge_multi_segment joins them into, for tests/test_contour.c.
  seg_bn.safetensors, cls_bn.safetensors: the BN running statistics the networks run with (see
    calibrate), loaded over the fixtures' own by the tests.

Run with the venv that setup.sh creates, after make_predict_fixtures.py (it reads its images):
    scripts/reference/.venv/bin/python scripts/reference/make_predict_task_fixtures.py
"""

import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ["YOLO_OFFLINE"] = "true"
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(__file__).resolve().parent / ".venv" / "ultralytics-config"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402
from ultralytics.data.augment import LetterBox, classify_transforms  # noqa: E402
from ultralytics.data.converter import merge_multi_segment  # noqa: E402
from ultralytics.models.yolo.classify import ClassificationPredictor  # noqa: E402
from ultralytics.models.yolo.segment import SegmentationPredictor  # noqa: E402
from ultralytics.nn.tasks import ClassificationModel, SegmentationModel  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "predict"
IMAGES = [OUT / f"image{i}.png" for i in range(5)]
SEG_IMGSZ = 96
CLS_IMGSZ = 64
CONF = 0.25
IOU = 0.7
NOISE_IMAGES = 8
MIN_RUNNING_VAR = 0.1


def model(cls, stem: str, nc: int) -> torch.nn.Module:
    cfg = yaml.safe_load((FIXTURES / f"{stem}.yaml").read_text())
    cfg["scale"] = "n"
    m = cls(cfg, ch=3, nc=nc, verbose=False)
    weights = {k: torch.from_numpy(v) for k, v in load_file(str(FIXTURES / f"{stem}.safetensors")).items()
               if not k.startswith(("input.", "output.", "after."))}
    missing, unexpected = m.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    return m


def calibrate(m: torch.nn.Module, batch: torch.Tensor) -> dict:
    """The fixtures' BN statistics are random, and would drown the image in the activations. One
    train-mode forward with momentum 1 over the network's own inputs and some noise sets them to
    batch statistics, the variances kept >= MIN_RUNNING_VAR so that near-constant channels do not
    blow up the small differences of resizing (as make_predict_fixtures.py does for detect)."""
    noise = torch.from_numpy(np.random.default_rng(5).random((NOISE_IMAGES, *batch.shape[1:]), dtype=np.float32))
    batch = torch.cat([batch, noise])
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


def save_stats(stats: dict, name: str) -> None:
    save_file(stats, str(OUT / name), metadata={"source": "scripts/reference/make_predict_task_fixtures.py"})
    os.chmod(OUT / name, 0o644)


def label_lines(result) -> list:
    """The lines Results.save_txt writes (without scores)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "labels.txt"
        result.save_txt(str(path))
        return path.read_text().splitlines() if path.exists() else []


def run_lengths(mask: np.ndarray) -> str:
    """Row-major run lengths of a 0/1 mask, starting with a run of zeros (maybe empty), as one
    string of numbers (compact in the JSON)."""
    flat = mask.reshape(-1).astype(np.uint8)
    runs, value, count = [], 0, 0
    for v in flat:
        if v == value:
            count += 1
        else:
            runs.append(count)
            value, count = v, 1
    runs.append(count)
    return " ".join(str(r) for r in runs)


def segment() -> dict:
    net = model(SegmentationModel, "yolov8-seg", 3)
    batch = [LetterBox(SEG_IMGSZ, auto=False)(image=cv2.imread(str(p)))[..., ::-1].copy() for p in IMAGES]
    batch = torch.stack([torch.from_numpy(x) for x in batch]).permute(0, 3, 1, 2).float() / 255
    save_stats(calibrate(net, batch), "seg_bn.safetensors")
    # rect=True as Model.predict sets it: one image at a time, LetterBox with auto=True.
    predictor = SegmentationPredictor(overrides=dict(imgsz=SEG_IMGSZ, conf=CONF, iou=IOU, max_det=300, rect=True,
                                                     save=False, verbose=False))
    images = []
    for path in IMAGES:
        original = cv2.imread(str(path))
        letterboxed = LetterBox(SEG_IMGSZ, auto=True, stride=32)(image=original)
        (result,) = predictor(source=str(path), model=net)
        masks = result.masks.data.numpy() if result.masks is not None else np.zeros((0, 1, 1))
        assert masks.shape[1:] in {(letterboxed.shape[0], letterboxed.shape[1]), (1, 1)}
        images.append({
            "file": path.name,
            "width": original.shape[1], "height": original.shape[0],
            "input_width": letterboxed.shape[1], "input_height": letterboxed.shape[0],
            "boxes": result.boxes.xyxy.tolist(), "scores": result.boxes.conf.tolist(),
            "classes": result.boxes.cls.int().tolist(),
            "masks": [run_lengths(m) for m in masks],
            "labels": label_lines(result),
        })
        print(f"segment {path.name}: input {letterboxed.shape[1]}x{letterboxed.shape[0]}, {len(result.boxes)} objects, "
              f"mask areas {[int(m.sum()) for m in masks]}")
    return {"ultralytics": ultralytics.__version__, "torch": torch.__version__, "imgsz": SEG_IMGSZ, "conf": CONF,
            "iou": IOU, "model": "tests/fixtures/yolov8-seg.yaml with yolov8-seg.safetensors, eval mode",
            "running_stats": "predict/seg_bn.safetensors", "images": images}


def classify() -> dict:
    net = model(ClassificationModel, "yolov8-cls", 5)
    transform = classify_transforms(CLS_IMGSZ)
    rgb = [Image.fromarray(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)) for p in IMAGES]
    save_stats(calibrate(net, torch.stack([transform(im) for im in rgb])), "cls_bn.safetensors")
    predictor = ClassificationPredictor(overrides=dict(imgsz=CLS_IMGSZ, save=False, verbose=False))
    images = []
    for path in IMAGES:
        (result,) = predictor(source=str(path), model=net)
        probs = result.probs
        images.append({"file": path.name, "top5": probs.top5, "scores": [float(probs.data[j]) for j in probs.top5],
                       "probs": probs.data.tolist(), "labels": label_lines(result)})
        print(f"classify {path.name}: top5 {probs.top5}, scores {[round(float(probs.data[j]), 4) for j in probs.top5]}")
    return {"ultralytics": ultralytics.__version__, "torch": torch.__version__, "imgsz": CLS_IMGSZ,
            "model": "tests/fixtures/yolov8-cls.yaml with yolov8-cls.safetensors, eval mode",
            "running_stats": "predict/cls_bn.safetensors", "images": images}


def contour_masks() -> list:
    """Hand-made cases, then random ones of four kinds."""
    masks = [np.zeros((4, 5), np.uint8), np.ones((3, 4), np.uint8)]
    m = np.zeros((5, 6), np.uint8)
    m[2, 3] = 1  # a single pixel
    masks.append(m)
    m = np.zeros((6, 7), np.uint8)
    m[0, 0] = m[5, 6] = m[0, 6] = 1  # pixels in the corners
    masks.append(m)
    m = np.eye(7, dtype=np.uint8)  # a diagonal line, one pixel wide
    m[6, 0] = 1
    masks.append(m)
    m = np.zeros((12, 12), np.uint8)
    cv2.rectangle(m, (1, 1), (10, 10), 1, 2)  # a ring, with an object in its hole
    m[5:7, 5:7] = 1
    masks.append(m)
    m = np.zeros((10, 14), np.uint8)
    m[1:4, 1:5] = 1
    m[6:9, 8:13] = 1
    m[2, 6:12] = 1  # a line between them, touching neither
    m[9, 0:3] = 1
    masks.append(m)
    rng = np.random.default_rng(11)
    for t in range(24):
        h, w = int(rng.integers(3, 22)), int(rng.integers(3, 22))
        if t % 4 == 0:
            m = (rng.random((h, w)) < 0.3 + 0.4 * rng.random()).astype(np.uint8)
        elif t % 4 == 1:
            blur = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
            m = (blur > np.quantile(blur, rng.random())).astype(np.uint8)
        elif t % 4 == 2:
            m = np.zeros((h, w), np.uint8)
            for _ in range(3):
                centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
                cv2.circle(m, centre, int(rng.integers(1, 8)), 1, int(rng.integers(1, 3)))
        else:
            m = np.zeros((h, w), np.uint8)
            for _ in range(4):
                x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
                cv2.rectangle(m, (x0, y0), (x0 + int(rng.integers(0, 6)), y0 + int(rng.integers(0, 6))), 1, -1)
        masks.append(m)
    return masks


def contours() -> dict:
    cases = []
    for m in contour_masks():
        found = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
        parts = [c.reshape(-1, 2) for c in found]
        merged = np.concatenate(merge_multi_segment(parts)) if len(parts) > 1 else parts[0] if parts else np.zeros((0, 2))
        cases.append({"rows": ["".join(str(v) for v in row) for row in m],
                      "contours": [" ".join(f"{x} {y}" for x, y in c) for c in parts],
                      "merged": " ".join(f"{int(x)} {int(y)}" for x, y in merged)})
    return {"opencv": cv2.__version__, "ultralytics": ultralytics.__version__,
            "what": "cv2.findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) and merge_multi_segment", "masks": cases}


def main() -> None:
    (FIXTURES / "contours.json").write_text(json.dumps(contours(), indent=1) + "\n")
    for name, doc in (("segment.json", segment()), ("classify.json", classify())):
        (OUT / name).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
