"""Writes tests/fixtures/detect-metrics.json: inputs and Ultralytics' own outputs for NMS and the
detection metrics, which tests/test_detect_metrics.c compares against tasks/detect/nms.c and
tasks/detect/metrics.c.

- "metrics": 20 seeded images with ground truth in 4 classes and detections made from it (jittered
  copies, duplicates, misses, wrong classes, false positives, a fifth class that has no ground
  truth). They go through DetectionValidator.update_metrics (native-space boxes, _process_batch:
  box_iou and match_predictions) and get_stats (ap_per_class, DetMetrics); the file keeps the boxes
  as the validator saw them, the per-image TP matrices, per-class AP at the 10 IoU thresholds,
  P, R, mAP50, mAP50-95, fitness and the per-class image and instance counts.
  The same images also go through ConfusionMatrix.process_batch as the validator calls it with
  plots=True (conf 0.25 at the default val conf, IoU 0.45): "confusion" keeps the matrix. "curves"
  keeps ap_per_class's P, R and F1 curves, its prec_values (the PR plot's rows) at a few points of
  x = linspace(0, 1, 1000), and the best value and its x of the smoothed mean that the F1, P and R
  plots print in their legends.
- "nms": two images of raw decoded predictions ([anchors][4 + nc]: xywh, class scores) and
  ops.non_max_suppression's output for several option sets. Scores are multiples of 1/64 and boxes
  cluster, so equal scores meet overlapping boxes: which of two tied boxes survives depends on how
  equal scores are ordered (torchvision's stable sort, and above max_nms torch's unstable argsort
  first), and the C code must reproduce both.

Run with the venv that setup.sh creates:
    scripts/reference/.venv/bin/python scripts/reference/make_metric_fixtures.py
"""

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Before importing Ultralytics: no internet probe on import, settings kept inside the venv.
os.environ["YOLO_OFFLINE"] = "true"
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(__file__).resolve().parent / ".venv" / "ultralytics-config"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
from ultralytics.models.yolo.detect import DetectionValidator  # noqa: E402
from ultralytics.utils import ops  # noqa: E402
from ultralytics.utils.metrics import ConfusionMatrix, smooth  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "detect-metrics.json"
SEED = 20240611

METRIC_IMAGES = 20
METRIC_NC = 5  # class 4 is only ever predicted, class 3 only ever labelled
# Where the curves are sampled: both ends, around the middle, and points between.
CURVE_POINTS = [0, 1, 137, 250, 499, 500, 613, 750, 900, 998, 999]
NMS_ANCHORS = 256
NMS_NC = 3


def f32(a):
    return np.asarray(a, dtype=np.float32)


def jitter(rng, box, scale):
    """A copy of an xyxy box with its centre moved and its size changed by up to `scale` of its size."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + rng.uniform(-scale, scale) * w
    cy = (y1 + y2) / 2 + rng.uniform(-scale, scale) * h
    w *= np.exp(rng.uniform(-scale, scale))
    h *= np.exp(rng.uniform(-scale, scale))
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def metric_image(rng, index, used_conf):
    """One image: (height, width), GT xyxy boxes and classes, detections [x1, y1, x2, y2, conf, cls]."""
    gt, gt_cls, dets = [], [], []

    def conf(lo, hi):
        # Distinct confidences everywhere: np.argsort(-conf) in ap_per_class is not stable, so equal
        # confidences would make Ultralytics' own order (and so AP) depend on numpy's sort.
        while True:
            c = float(np.float32(rng.uniform(lo, hi)))
            if c not in used_conf:
                used_conf.add(c)
                return c

    if index == 3:
        # Two overlapping GTs of one class and a detection exactly between them: equal IoUs
        # (9.5 * 10 / 105 for both), so which GT the detection takes depends on the tie rule of
        # the sort in match_predictions. A power-of-two image size keeps the boxes exact through the
        # dataloader's normalised xywh form.
        gt = [[100.0, 100.0, 110.0, 110.0], [101.0, 100.0, 111.0, 110.0]]
        gt_cls = [1, 1]
        dets = [[100.5, 100.0, 110.5, 110.0, conf(0.5, 1.0), 1], [101.0, 100.5, 111.0, 110.5, conf(0.1, 0.5), 1]]
        return (256, 512), gt, gt_cls, dets

    h, w = int(rng.randint(240, 481)), int(rng.randint(320, 641))
    n_gt = 0 if index in (1, 2) else int(rng.randint(1, 10))
    for _ in range(n_gt):
        bw, bh = rng.uniform(12, w / 3), rng.uniform(12, h / 3)
        x1, y1 = rng.uniform(-bw / 4, w - bw * 0.75), rng.uniform(-bh / 4, h - bh * 0.75)  # some leave the image
        gt.append([x1, y1, x1 + bw, y1 + bh])
        gt_cls.append(int(rng.choice([0, 0, 1, 1, 2, 3])))
    if index in (0, 2):  # GT and no detections; no GT and no detections
        return (h, w), gt, gt_cls, dets

    for box, c in zip(gt, gt_cls):
        if c == 3 or rng.rand() < 0.15:  # class 3 is never detected (AP 0, still in the mean)
            continue
        pc = int(rng.choice([0, 1, 2, 4])) if rng.rand() < 0.1 else c
        dets.append(jitter(rng, box, rng.uniform(0.0, 0.25)) + [conf(0.05, 1.0), pc])
        if rng.rand() < 0.3:  # a duplicate: at most one of the two is a TP at any threshold
            dets.append(jitter(rng, box, rng.uniform(0.0, 0.2)) + [conf(0.01, 1.0), pc])
        if rng.rand() < 0.2:  # a poorly placed one of the right class: TP at low thresholds at best
            dets.append(jitter(rng, box, rng.uniform(0.25, 0.45)) + [conf(0.01, 0.6), pc])
    for _ in range(int(rng.randint(0, 4))):  # false positives anywhere
        bw, bh = rng.uniform(10, w / 4), rng.uniform(10, h / 4)
        x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        dets.append([x1, y1, x1 + bw, y1 + bh, conf(0.001, 0.5), int(rng.choice([0, 1, 2, 4]))])
    # NMS would sort by confidence; a shuffled order checks that matching follows the detection
    # index (lowest index wins a GT), not the confidence.
    rng.shuffle(dets)
    return (h, w), gt, gt_cls, dets


def metrics_fixture(rng):
    with tempfile.TemporaryDirectory() as tmp:
        v = DetectionValidator(save_dir=Path(tmp), args=dict(plots=False, save_json=False, save_txt=False))
    v.device = torch.device("cpu")
    v.nc = METRIC_NC
    v.seen = 0
    v.stats = dict(tp=[], conf=[], pred_cls=[], target_cls=[], target_img=[])
    v.metrics.names = {i: f"class{i}" for i in range(METRIC_NC)}

    # As DetectionValidator.init_metrics makes it: the default val conf (None, then 0.001) becomes 0.25.
    cm = ConfusionMatrix(nc=METRIC_NC, conf=v.args.conf)
    used_conf, images = set(), []
    for index in range(METRIC_IMAGES):
        (h, w), gt, gt_cls, dets = metric_image(rng, index, used_conf)
        # A one-image batch in the form the dataloader gives: normalised xywh labels, and an input
        # of the original size (gain 1, no padding) so that native space equals input space.
        gt_xyxy = f32(gt).reshape(-1, 4)
        xywh = np.concatenate([(gt_xyxy[:, :2] + gt_xyxy[:, 2:]) / 2, gt_xyxy[:, 2:] - gt_xyxy[:, :2]], 1)
        batch = {
            "img": torch.zeros(1, 1, 1, 1).expand(1, 3, h, w),
            "batch_idx": torch.zeros(len(gt)),
            "cls": torch.tensor(gt_cls, dtype=torch.float32).reshape(-1, 1),
            "bboxes": torch.from_numpy(f32(xywh / np.array([w, h, w, h], dtype=np.float32))).reshape(-1, 4),
            "ori_shape": [(h, w)],
            "ratio_pad": [((1.0, 1.0), (0.0, 0.0))],
        }
        pred = torch.from_numpy(f32(dets).reshape(-1, 6))
        # The boxes the validator compares, as the C side must receive them (native space, clipped).
        pbatch = v._prepare_batch(0, batch)
        predn = v._prepare_pred(pred, pbatch)
        n_before = len(v.stats["tp"])
        v.update_metrics([pred.clone()], batch)
        # update_metrics' own calls when plots=True: no detections (with labels) or all of them.
        if len(pred) == 0:
            if len(pbatch["cls"]):
                cm.process_batch(detections=None, gt_bboxes=pbatch["bbox"], gt_cls=pbatch["cls"])
        else:
            cm.process_batch(predn, pbatch["bbox"], pbatch["cls"])
        tp = v.stats["tp"][-1].numpy() if len(v.stats["tp"]) > n_before else np.zeros((len(dets), 10), bool)
        assert tp.shape == (len(dets), 10)
        images.append(
            {
                "gt_boxes": pbatch["bbox"].numpy().astype(float).tolist(),
                "gt_cls": [int(c) for c in gt_cls],
                "dets": [[*r[:5], int(r[5])] for r in predn.numpy().astype(float).tolist()],
                # Bit t set: TP at IoU threshold 0.50 + 0.05 t.
                "tp": [int(sum(int(b) << t for t, b in enumerate(row))) for row in tp],
            }
        )
    results = v.get_stats()
    box = v.metrics.box
    # Ties would make the reference depend on np.argsort's unstable order; the generator avoids them.
    conf = np.concatenate([s.numpy() for s in v.stats["conf"]])
    assert len(np.unique(conf)) == len(conf), "tied confidences"
    # Inside the tie image, both GTs reach the detection at every threshold up to 0.90; the second
    # GT (index 1) won: numpy's argsort (insertion sort below 17 elements, so stable) then [::-1].
    assert images[3]["tp"] == [0b0111111111, 0]
    assert cm.conf == 0.25

    def sampled(rows):
        return [[float(row[q]) for q in CURVE_POINTS] for row in np.asarray(rows)]

    def best(curves):
        y = smooth(np.asarray(curves).mean(0), 0.1)
        return {"best": float(y.max()), "at": float(box.px[y.argmax()])}

    return {
        "nc": METRIC_NC,
        "images": images,
        "seen": v.seen,
        "nt_per_class": v.nt_per_class.tolist(),
        "nt_per_image": v.nt_per_image.tolist(),
        "ap_class_index": box.ap_class_index.tolist(),
        "p": box.p.tolist(),
        "r": box.r.tolist(),
        "all_ap": box.all_ap.tolist(),
        "precision": float(results["metrics/precision(B)"]),
        "recall": float(results["metrics/recall(B)"]),
        "map50": float(results["metrics/mAP50(B)"]),
        "map50_95": float(results["metrics/mAP50-95(B)"]),
        "fitness": float(results["fitness"]),
        "confusion": {"conf": float(cm.conf), "iou": float(cm.iou_thres), "matrix": cm.matrix.astype(int).tolist()},
        "curves": {
            "points": CURVE_POINTS,
            "x": [float(box.px[q]) for q in CURVE_POINTS],
            "classes": box.ap_class_index.tolist(),  # the rows of p, r and f1
            "p": sampled(box.p_curve),
            "r": sampled(box.r_curve),
            "f1": sampled(box.f1_curve),
            "prec_values": sampled(box.prec_values),  # one row per class with labels and detections
            "f1_all": best(box.f1_curve),
            "p_all": best(box.p_curve),
            "r_all": best(box.r_curve),
        },
    }


def nms_image(rng):
    """[anchors][4 + nc] float32: xywh boxes in clusters around a few objects, and class scores that
    are multiples of 1/64 (many ties), zero for most classes of most anchors."""
    objects = [(rng.uniform(40, 600), rng.uniform(40, 600), rng.uniform(16, 160), rng.uniform(16, 160)) for _ in range(12)]
    rows = []
    for a in range(NMS_ANCHORS):
        cx, cy, w, h = objects[a % len(objects)]
        # Coordinates on a 1/16 grid keep the JSON short; the 7680 class offset still rounds them.
        box = [round((cx + rng.normal(0, 0.06) * w) * 16) / 16, round((cy + rng.normal(0, 0.06) * h) * 16) / 16,
               round(w * np.exp(rng.normal(0, 0.08)) * 16) / 16, round(h * np.exp(rng.normal(0, 0.08)) * 16) / 16]
        scores = [rng.randint(0, 64) / 64 if rng.rand() < 0.5 else 0.0 for _ in range(NMS_NC)]
        rows.append(box + scores)
    decoded = f32(rows)
    # Exactly at the threshold: not a candidate (the test is score > conf).
    decoded[0, 4] = np.float32(0.001)
    decoded[1, 4:] = np.float32(0.001)
    return decoded


NMS_CASES = [
    # validation: conf 0.001, iou 0.7, multi-label, max_det 300
    dict(image=0, conf=0.001, iou=0.7, multi_label=True, agnostic=False, classes=None, max_det=300, max_nms=30000),
    dict(image=1, conf=0.001, iou=0.7, multi_label=True, agnostic=False, classes=None, max_det=300, max_nms=30000),
    # prediction-style: best class only, higher conf
    dict(image=0, conf=0.25, iou=0.7, multi_label=False, agnostic=False, classes=None, max_det=300, max_nms=30000),
    # max_nms and max_det cut (the top-k by a first unstable sort, then NMS sorts again)
    dict(image=1, conf=0.001, iou=0.5, multi_label=True, agnostic=False, classes=None, max_det=40, max_nms=150),
    # class-agnostic, a class filter
    dict(image=0, conf=0.001, iou=0.6, multi_label=True, agnostic=True, classes=[0, 2], max_det=300, max_nms=30000),
    dict(image=1, conf=0.1, iou=0.45, multi_label=False, agnostic=True, classes=None, max_det=300, max_nms=30000),
]


def nms_fixture(rng):
    images = [nms_image(rng) for _ in range(2)]
    cases = []
    for case in NMS_CASES:
        decoded = images[case["image"]]
        prediction = torch.from_numpy(decoded.T.copy())[None]  # [1, 4 + nc, anchors], as Detect outputs
        out, keep = ops.non_max_suppression(
            prediction,
            conf_thres=case["conf"],
            iou_thres=case["iou"],
            classes=case["classes"],
            agnostic=case["agnostic"],
            multi_label=case["multi_label"],
            max_det=case["max_det"],
            max_nms=case["max_nms"],
            return_idxs=True,
        )
        rows = out[0].numpy().astype(float).tolist()
        anchors = keep[0].tolist()
        cases.append({**case, "out": [[*r[:5], int(r[5]), int(a)] for r, a in zip(rows, anchors)]})
    return {"nc": NMS_NC, "anchors": NMS_ANCHORS, "images": [img.astype(float).ravel().tolist() for img in images], "cases": cases}


def main():
    rng = np.random.RandomState(SEED)
    fixture = {
        "generator": "scripts/reference/make_metric_fixtures.py",
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "metrics": metrics_fixture(rng),
        "nms": nms_fixture(rng),
    }
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    m = fixture["metrics"]
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes): mAP50 {m['map50']:.4f}, "
          f"mAP50-95 {m['map50_95']:.4f}, NMS outputs {[len(c['out']) for c in fixture['nms']['cases']]}", file=sys.stderr)


if __name__ == "__main__":
    main()
