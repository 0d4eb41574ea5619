"""Writes tests/fixtures/yolov8-cls-loss.safetensors for tests/test_classify.c: Ultralytics
8.3.127's v8ClassificationLoss on the classify fixture network of make_fixtures.py (its weights
are those of tests/fixtures/yolov8-cls.safetensors, checked here, and are not stored twice).

- Train mode, as the trainer runs it: the logits of a fixed batch, the mean cross-entropy against
  fixed labels, loss.backward() (ClassificationTrainer backpropagates the mean itself: no batch
  factor), the gradient of the logits and of a few parameters from both ends of the network.
- Eval mode, as the validator runs it: Classify returns (softmax, logits); the val loss is the
  cross-entropy of the logits (v8ClassificationLoss takes preds[1]) and the ranking is the
  softmax's. BN normalises with its running statistics.

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


def main() -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
