#!/usr/bin/env python3
"""Python interop: opens a yolo checkpoint (.ckpt) with Python's `safetensors` and checks that
its tensors and metadata read as shared/docs/checkpoint-and-resume.md "Format" describes.

usage: read_checkpoint.py PATH [--task detect] [--epoch N]

Prints one "ok ..." line per check; on the first failed check prints "FAIL ..." and exits 1
(2 for a usage error or a file safetensors cannot open).
"""
import argparse
import json
import sys

import numpy as np
from safetensors import safe_open


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--task", default="detect")
    ap.add_argument("--epoch", type=int, default=None, help="the epoch the state must record")
    a = ap.parse_args()

    def ok(msg):
        print(f"ok   {msg}")

    def fail(msg):
        print(f"FAIL {msg}")
        sys.exit(1)

    try:
        f = safe_open(a.path, framework="numpy")
    except Exception as e:  # noqa: BLE001 - report whatever safetensors raises
        print(f"FAIL safetensors cannot open {a.path}: {e}")
        sys.exit(2)

    with f:
        meta = f.metadata() or {}
        keys = set(f.keys())
        ok(f"safetensors opens {a.path}: {len(keys)} tensors, metadata {sorted(meta)}")

        if meta.get("format") != "yolo-ckpt":
            fail(f"metadata format is {meta.get('format')!r}, want 'yolo-ckpt'")
        ok("metadata format = yolo-ckpt")
        if meta.get("format_version") != "1":
            fail(f"metadata format_version is {meta.get('format_version')!r}, want '1'")
        ok("metadata format_version = 1")
        if meta.get("task") != a.task:
            fail(f"metadata task is {meta.get('task')!r}, want {a.task!r}")
        ok(f"metadata task = {a.task}")
        if not meta.get("checksum_xxh3"):
            fail("metadata has no checksum_xxh3")
        ok("metadata has checksum_xxh3")
        try:
            state = json.loads(meta.get("state", ""))
        except ValueError as e:
            fail(f"metadata state is not JSON: {e}")
        if not isinstance(state, dict) or "epoch" not in state:
            fail("metadata state has no 'epoch' key")
        if a.epoch is not None and state["epoch"] != a.epoch:
            fail(f"state epoch is {state['epoch']}, want {a.epoch}")
        ok(f"metadata state is JSON with epoch = {state['epoch']}")

        for name in ("model.0.conv.weight", "ema.model.0.conv.weight", "model.22.dfl.conv.weight"):
            if name not in keys:
                fail(f"no tensor {name}")
        w = f.get_tensor("model.0.conv.weight")
        e = f.get_tensor("ema.model.0.conv.weight")
        if w.dtype != np.float32 or w.ndim != 4:
            fail(f"model.0.conv.weight is {w.dtype} {list(w.shape)}, want a 4-d float32")
        if w.shape != e.shape or w.dtype != e.dtype:
            fail(f"ema.model.0.conv.weight is {e.dtype} {list(e.shape)}, model.0.conv.weight {w.dtype} {list(w.shape)}")
        if not (np.isfinite(w).all() and np.isfinite(e).all()):
            fail("model.0.conv.weight or its EMA holds a non-finite value")
        ok(f"model.0.conv.weight and ema.model.0.conv.weight: float32 {list(w.shape)}, finite")

        dfl = f.get_tensor("model.22.dfl.conv.weight")
        if list(dfl.shape) != [1, 16, 1, 1]:
            fail(f"model.22.dfl.conv.weight has shape {list(dfl.shape)}, want [1, 16, 1, 1]")
        if not np.array_equal(dfl.reshape(-1), np.arange(16, dtype=dfl.dtype)):
            fail(f"model.22.dfl.conv.weight is {dfl.reshape(-1).tolist()}, want the DFL bins 0..15")
        ok("model.22.dfl.conv.weight = the DFL bins 0..15, shape [1, 16, 1, 1]")

        # Every tensor reads back (shape and dtype from the header, data from the file).
        n = 0
        for name in sorted(keys):
            f.get_tensor(name)
            n += 1
        ok(f"all {n} tensors read")


if __name__ == "__main__":
    main()
