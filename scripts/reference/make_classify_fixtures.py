"""Writes tests/fixtures/yolov8-cls-loss.safetensors for tests/test_classify.c: Ultralytics
8.3.127's v8ClassificationLoss on the classify fixture network of make_fixtures.py (its weights
are those of tests/fixtures/yolov8-cls.safetensors, checked here, and are not stored twice).

- Train mode, as the trainer runs it: the logits of a fixed batch, the mean cross-entropy against
  fixed labels, loss.backward() (ClassificationTrainer backpropagates the mean itself: no batch
  factor), the gradient of the logits and of a few parameters from both ends of the network.
- Eval mode, as the validator runs it: Classify returns (softmax, logits); the val loss is the
  cross-entropy of the logits (v8ClassificationLoss takes preds[1]) and the ranking is the
  softmax's. BN normalises with its running statistics.

It also writes tests/fixtures/classify-transforms.safetensors for tests/test_classify_transforms.c:
the PIL operations that Ultralytics' classify transforms run through torchvision 0.14 and Pillow 9,
applied to small images with fixed parameters (their random draws are ours to make):

- resize.<w>x<h>: Image.resize((w, h), BILINEAR) of `source`, shrinking, enlarging, one axis only;
- val.<name>: classify_transforms(size) (Resize of the shorter side, CenterCrop, ToTensor) of
  `source` and of its transpose, a CHW float tensor;
- op.<Name>.<sign>: torchvision's RandAugment operation at RandAugment's default magnitude (bin 9 of
  31), positive and negated for the signed ones, on `square`; metadata magnitude.<Name>;
- jitter.<name>: ColorJitter's four adjustments at fixed factors on `square`.

Images are uint8 HWC RGB stored as F32 values.

Run with the venv that setup.sh creates:
  scripts/reference/.venv/bin/python scripts/reference/make_classify_fixtures.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sets YOLO_OFFLINE and YOLO_CONFIG_DIR before Ultralytics loads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from ultralytics.nn.tasks import ClassificationModel  # noqa: E402
from ultralytics.utils.loss import v8ClassificationLoss  # noqa: E402

STEM = "yolov8-cls-loss"
NC = 5
BATCH = 4
IMGSZ = 64
# Every class but one appears, one twice; the label order is not sorted.
LABELS = [3, 0, 4, 3]
# Gradients kept: the first conv and BN, a C2f in the middle, the last C2f's output conv, and
# the head's BN and linear layer (the head's 1x1 conv to 1280 alone would be 320 KB).
PARAMS = [
    "model.0.conv.weight",
    "model.0.bn.weight",
    "model.0.bn.bias",
    "model.4.m.0.cv1.conv.weight",
    "model.8.cv2.conv.weight",
    "model.9.conv.bn.weight",
    "model.9.conv.bn.bias",
    "model.9.linear.weight",
    "model.9.linear.bias",
]


def make_loss() -> None:
    fixtures = mf.ROOT / "tests" / "fixtures"
    text = (fixtures / "yolov8-cls.yaml").read_text()
    model = mf.build_model(text, ClassificationModel, NC)
    weights_path = fixtures / "yolov8-cls.safetensors"
    stored = load_file(str(weights_path))
    for name, t in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert np.array_equal(mf.f32(t), stored[name]), f"{name} differs from {weights_path.name}"

    images = torch.rand(BATCH, 3, IMGSZ, IMGSZ, generator=torch.Generator().manual_seed(5))
    labels = torch.tensor(LABELS, dtype=torch.int64)
    batch = {"img": images, "cls": labels}
    criterion = v8ClassificationLoss()

    # Eval first: the train-mode forward below moves the BN running statistics.
    model.eval()
    with torch.no_grad():
        probs, eval_logits = model(images)
        eval_loss, _ = criterion((probs, eval_logits), batch)

    model.train()
    logits = model(images)
    logits.retain_grad()
    loss, items = criterion(logits, batch)
    loss.backward()

    tensors = {
        "input.images": mf.f32(images),
        "input.labels": mf.f32(labels),
        "output.logits": mf.f32(logits),
        "grad.output.logits": mf.f32(logits.grad),
        "loss": mf.f32(items.reshape(1)),
        "eval.logits": mf.f32(eval_logits),
        "eval.probs": mf.f32(probs),
        "eval.loss": mf.f32(eval_loss.reshape(1)),
    }
    params = dict(model.named_parameters())
    for name in PARAMS:
        tensors[f"grad.{name}"] = mf.f32(params[name].grad)

    metadata = {
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "weights": f"tests/fixtures/{weights_path.name}",
        "nc": str(NC),
        "batch": str(BATCH),
        "imgsz": str(IMGSZ),
    }
    path = fixtures / f"{STEM}.safetensors"
    mf.write_safetensors(path, tensors, metadata)
    print(
        f"{path.relative_to(mf.ROOT)}: {path.stat().st_size / 1e3:.0f} KB, train loss {float(items):.6f}, "
        f"eval loss {float(eval_loss):.6f}, eval top1 {(probs.argmax(1) == labels).float().mean():.2f}"
    )


TRANSFORMS_STEM = "classify-transforms"
RESIZES = [(16, 11), (70, 50), (20, 31), (45, 20), (13, 40), (45, 31)]
VAL_SIZES = {"wide": 24, "tall": 20}  # the tall case crops an odd margin: round(4.5) is 4
MAGNITUDE_BIN = 9  # RandAugment's default magnitude, of num_magnitude_bins=31
JITTER = {"brightness": 1.3, "contrast": 0.7, "saturation": 1.5, "hue_plus": 0.012, "hue_minus": -0.013}


def test_image(w: int, h: int, gen: np.random.Generator) -> np.ndarray:
    """Gradients, a bright disc, a dark bar and noise: edges for the warps, spread histograms for
    autocontrast and equalize."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([40 + 150 * x / w, 200 - 120 * y / h, 90 + 60 * np.sin(x / 3.0) * np.cos(y / 4.0)], -1)
    img[(x - 0.6 * w) ** 2 + (y - 0.4 * h) ** 2 < (0.25 * min(w, h)) ** 2] = [230, 220, 60]
    img[int(0.7 * h) : int(0.8 * h), int(0.1 * w) : int(0.5 * w)] = [20, 30, 160]
    img += gen.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_transforms() -> None:
    import torchvision
    import torchvision.transforms.functional as F
    from PIL import Image
    from torchvision.transforms import InterpolationMode, RandAugment
    from torchvision.transforms.autoaugment import _apply_op
    from ultralytics.data.augment import classify_transforms

    gen = np.random.default_rng(6)
    source = test_image(45, 31, gen)
    square = test_image(24, 24, gen)
    tensors = {"source": source.astype(np.float32), "square": square.astype(np.float32)}
    pil = Image.fromarray(source)
    for w, h in RESIZES:
        tensors[f"resize.{w}x{h}"] = np.asarray(pil.resize((w, h), Image.BILINEAR), dtype=np.float32)
    for name, size in VAL_SIZES.items():
        im = pil if name == "wide" else Image.fromarray(np.ascontiguousarray(source.transpose(1, 0, 2)))
        tensors[f"val.{name}"] = mf.f32(classify_transforms(size=size)(im))

    metadata = {"torchvision": torchvision.__version__, "ultralytics": ultralytics.__version__,
                "magnitude_bin": str(MAGNITUDE_BIN)}
    sq = Image.fromarray(square)
    space = RandAugment()._augmentation_space(31, (square.shape[0], square.shape[1]))
    for op, (magnitudes, signed) in space.items():
        magnitude = float(magnitudes[MAGNITUDE_BIN].item()) if magnitudes.ndim > 0 else 0.0
        metadata[f"magnitude.{op}"] = repr(magnitude)
        for sign in ("plus", "minus") if signed else ("plus",):
            m = -magnitude if sign == "minus" else magnitude
            out = _apply_op(sq, op, m, interpolation=InterpolationMode.BILINEAR, fill=None)
            tensors[f"op.{op}.{sign}"] = np.asarray(out, dtype=np.float32)
    for name, factor in JITTER.items():
        fn = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast, "saturation": F.adjust_saturation}
        out = fn[name](sq, factor) if name in fn else F.adjust_hue(sq, factor)
        tensors[f"jitter.{name}"] = np.asarray(out, dtype=np.float32)
        metadata[f"jitter.{name}"] = repr(factor)

    path = mf.ROOT / "tests" / "fixtures" / f"{TRANSFORMS_STEM}.safetensors"
    mf.write_safetensors(path, tensors, metadata)
    print(f"{path.relative_to(mf.ROOT)}: {path.stat().st_size / 1e3:.0f} KB, {len(tensors)} tensors")


def main() -> int:
    make_loss()
    make_transforms()
    return 0


if __name__ == "__main__":
    sys.exit(main())
