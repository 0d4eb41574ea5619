#!/usr/bin/env python3
"""The PyTorch anchor for the engine's CPU speed: yolov8n built in plain torch.nn.

  torch_anchor.py train [--threads 2] [--batch 16] [--imgsz 320] [--steps 10] [--warmup 2] [--cpu-time]
      Trains the model only (no data loading, no YOLO loss): the loss is the sum of the three
      head outputs times fixed random tensors, then backward and an SGD step. Prints the
      parameter count (3,157,200 for nc=80) and the median images/s over the steps after warm-up.
      --cpu-time times with the process's CPU time instead of the wall clock: with --threads 1 it
      is the work a step costs, whatever else the (shared, noisy) machine runs; compare it with
      build/bench/model_bench --threads 1 --cpu-time.
  torch_anchor.py convs [--threads 2] [--batch 16] [--imgsz 320] [--reps 5]
      Times torch's conv2d forward and backward alone on every distinct conv shape of the same
      model, in the layout of build/bench/conv_bench, to compare layer by layer.

The network follows yolov8.yaml at scale n (shared/docs/yolov8-spec.md 1.3 and 2); it is written
out here rather than taken from the ultralytics package so that the anchor needs torch only.
"""
import argparse
import statistics
import sys
import time

import torch
from torch import nn

NC = 80
REG_MAX = 16
EXPECTED_PARAMS = 3_157_200
ULTRALYTICS_GFLOPS_640 = 8.7


class Conv(nn.Module):
    """Ultralytics' Conv: conv without bias, BN (detection models' eps and momentum), SiLU."""

    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two 3x3 Convs at width c (C2f's bottlenecks use e=1.0); residual when shortcut is on."""

    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n, shortcut):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(4 * c_, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)  # pads with -inf, as the spec requires

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Concat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


class DFL(nn.Module):
    """Fixed 1x1 conv 16 -> 1 with weights 0..15. Only inference uses it; it is here because
    Ultralytics' parameter count includes its 16 weights."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(REG_MAX, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(REG_MAX, dtype=torch.float).view(1, REG_MAX, 1, 1)


class Detect(nn.Module):
    def __init__(self, nc, ch):
        super().__init__()
        c2, c3 = max(16, ch[0] // 4, 4 * REG_MAX), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * REG_MAX, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL()

    def forward(self, xs):
        # Training output: per level, box channels then class channels.
        return [torch.cat((b(x), c(x)), 1) for x, b, c in zip(xs, self.cv2, self.cv3)]


class YOLOv8n(nn.Module):
    """yolov8.yaml at scale n (depth 0.33, width 0.25): one module per yaml row, so module names
    carry the row number ("model.6.m.0.cv1.conv") as in Ultralytics."""

    def __init__(self, nc=NC):
        super().__init__()
        up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
        rows = [  # (from, module)
            (-1, Conv(3, 16, 3, 2)),  # 0
            (-1, Conv(16, 32, 3, 2)),  # 1
            (-1, C2f(32, 32, 1, True)),  # 2
            (-1, Conv(32, 64, 3, 2)),  # 3
            (-1, C2f(64, 64, 2, True)),  # 4
            (-1, Conv(64, 128, 3, 2)),  # 5
            (-1, C2f(128, 128, 2, True)),  # 6
            (-1, Conv(128, 256, 3, 2)),  # 7
            (-1, C2f(256, 256, 1, True)),  # 8
            (-1, SPPF(256, 256)),  # 9
            (-1, up()),  # 10
            ([-1, 6], Concat()),  # 11
            (-1, C2f(384, 128, 1, False)),  # 12
            (-1, up()),  # 13
            ([-1, 4], Concat()),  # 14
            (-1, C2f(192, 64, 1, False)),  # 15 (P3/8)
            (-1, Conv(64, 64, 3, 2)),  # 16
            ([-1, 12], Concat()),  # 17
            (-1, C2f(192, 128, 1, False)),  # 18 (P4/16)
            (-1, Conv(128, 128, 3, 2)),  # 19
            ([-1, 9], Concat()),  # 20
            (-1, C2f(384, 256, 1, False)),  # 21 (P5/32)
            ([15, 18, 21], Detect(nc, (64, 128, 256))),  # 22
        ]
        self.sources = [f for f, _ in rows]
        self.model = nn.ModuleList(m for _, m in rows)

    def forward(self, x):
        outs = []
        for f, m in zip(self.sources, self.model):
            if isinstance(f, list):
                x = m([x if j == -1 else outs[j] for j in f])
            else:
                x = m(x)
            outs.append(x)
        return x


def conv_shapes(model, imgsz):
    """Every conv2d of one training forward at imgsz, batch 1, merged by shape in order of first
    appearance: dicts with cin, cout, k, s, hw (output side), bias, image (input is the image),
    rows (yaml rows) and count."""
    seen = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            row = int(name.split(".")[1])

            def hook(mod, inp, out, row=row):
                key = (mod.in_channels, mod.out_channels, mod.kernel_size[0], mod.stride[0], out.shape[2],
                       mod.bias is not None, row == 0)
                e = seen.setdefault(key, {"cin": key[0], "cout": key[1], "k": key[2], "s": key[3], "hw": key[4],
                                          "bias": key[5], "image": key[6], "rows": [], "count": 0})
                e["count"] += 1
                if row not in e["rows"]:
                    e["rows"].append(row)

            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model.train()(torch.zeros(1, 3, imgsz, imgsz))
    for h in hooks:
        h.remove()
    return list(seen.values())


def macs(e, batch):
    return batch * e["cout"] * e["hw"] ** 2 * e["cin"] * e["k"] ** 2


def flop_check(model):
    shapes = conv_shapes(model, 640)
    flops = sum(2 * macs(e, 1) * e["count"] for e in shapes)
    rel = flops * 1e-9 / ULTRALYTICS_GFLOPS_640 - 1
    ok = abs(rel) < 0.03
    print(f"FLOP check: {sum(e['count'] for e in shapes)} conv layers, forward at imgsz 640 batch 1 = "
          f"{flops * 1e-9:.3f} GFLOP (2 x MACs); Ultralytics reports {ULTRALYTICS_GFLOPS_640} for yolov8n: "
          f"{100 * rel:+.1f}% -> {'ok' if ok else 'MISMATCH'}")
    return ok


def train(args, model):
    x = torch.randn(args.batch, 3, args.imgsz, args.imgsz)
    with torch.no_grad():
        weights = [torch.randn_like(o) for o in model.train()(x)]
    # Ultralytics' defaults: SGD, momentum 0.937 (Nesterov), weight decay 5e-4.
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.937,
                          nesterov=True, weight_decay=5e-4)
    clock = time.process_time if args.cpu_time else time.perf_counter
    rates = []
    for step in range(args.warmup + args.steps):
        t0 = clock()
        opt.zero_grad()
        loss = sum((o * w).sum() for o, w in zip(model(x), weights))
        loss.backward()
        opt.step()
        dt = clock() - t0
        if step >= args.warmup:
            rates.append(args.batch / dt)
    print(f"train step (forward, backward, SGD): batch {args.batch}, imgsz {args.imgsz}, {args.threads} "
          f"thread{'s' if args.threads != 1 else ''}, {args.steps} steps after {args.warmup} warm-up"
          f"{', process CPU time' if args.cpu_time else ''}")
    print(f"  images/s: median {statistics.median(rates):.2f} (min {min(rates):.2f}, max {max(rates):.2f}); "
          f"step {1e3 * args.batch / statistics.median(rates):.0f} ms")


def time_conv(e, batch, imgsz, reps):
    """Median forward and backward ms of one conv shape; the image's gradient is not asked for."""
    hw = e["hw"] * imgsz // 320
    conv = nn.Conv2d(e["cin"], e["cout"], e["k"], e["s"], e["k"] // 2, bias=e["bias"])
    x = torch.rand(batch, e["cin"], hw * e["s"], hw * e["s"]) * 2 - 1
    x.requires_grad_(not e["image"])
    gy = torch.rand(batch, e["cout"], hw, hw) * 2 - 1
    fwd, bwd = [], []
    for r in range(reps + 1):  # the first call of each is a warm-up
        x.grad = None
        conv.zero_grad(set_to_none=True)  # so backward writes rather than adds, as in one step
        t0 = time.perf_counter()
        y = conv(x)
        t1 = time.perf_counter()
        y.backward(gy)
        t2 = time.perf_counter()
        if r:
            fwd.append(1e3 * (t1 - t0))
            bwd.append(1e3 * (t2 - t1))
    return statistics.median(fwd), statistics.median(bwd)


def convs(args, model):
    # Shapes are taken at 320 and scaled, as conv_bench's table is.
    shapes = conv_shapes(model, 320)
    print(f"torch conv2d fwd+bwd, yolov8n layer shapes: batch {args.batch}, imgsz {args.imgsz}, {args.threads} "
          f"thread{'s' if args.threads != 1 else ''}, median of {args.reps} after 1 warm-up")
    print(f"{'rows':<12} {'Cin->Cout k s HxW':<22} {'n':>3} {'fwd ms':>9} {'bwd ms':>9} {'fwd GF/s':>9} "
          f"{'bwd GF/s':>9} {'step%':>6}")
    results = []
    for e in shapes:
        f_ms, b_ms = time_conv(e, args.batch, args.imgsz, args.reps)
        f = 2 * macs(e, args.batch) * (args.imgsz / 320) ** 2
        results.append((e, f_ms, b_ms, f, f * (1 if e["image"] else 2)))
    step = sum(e["count"] * (f_ms + b_ms) for e, f_ms, b_ms, _, _ in results)
    for e, f_ms, b_ms, f, b in results:
        hw = e["hw"] * args.imgsz // 320
        shape = f"{e['cin']}->{e['cout']} k{e['k']} s{e['s']} {hw}x{hw}" + (" +b" if e["bias"] else "") + (
            " img" if e["image"] else "")
        print(f"{','.join(map(str, e['rows'])):<12} {shape:<22} {e['count']:>3} {f_ms:>9.2f} {b_ms:>9.2f} "
              f"{f / (f_ms * 1e6):>9.1f} {b / (b_ms * 1e6):>9.1f} {100 * e['count'] * (f_ms + b_ms) / step:>6.1f}")
    fwd_ms = sum(e["count"] * f_ms for e, f_ms, _, _, _ in results)
    fwd_fl = sum(e["count"] * f for e, _, _, f, _ in results)
    bwd_fl = sum(e["count"] * b for e, _, _, _, b in results)
    print(f"total: {sum(e['count'] for e in shapes)} conv layers, {fwd_fl * 1e-9:.1f} GFLOP fwd + "
          f"{bwd_fl * 1e-9:.1f} GFLOP bwd per step: fwd {fwd_ms:.1f} ms + bwd {step - fwd_ms:.1f} ms = {step:.1f} ms")
    print(f"  conv alone: {args.batch / (step * 1e-3):.2f} images/s; {(fwd_fl + bwd_fl) / (step * 1e6):.1f} GFLOP/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["train", "convs"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--steps", type=int, default=10, help="train: timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="train: untimed steps first")
    ap.add_argument("--reps", type=int, default=5, help="convs: timed calls per shape")
    ap.add_argument("--cpu-time", action="store_true", help="train: time with process CPU time")
    args = ap.parse_args()
    if args.imgsz % 32:
        ap.error("--imgsz must be a multiple of 32 (the largest stride)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = YOLOv8n()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; yolov8n parameters: {n_params:,} "
          f"(Ultralytics: {EXPECTED_PARAMS:,}) -> {'ok' if n_params == EXPECTED_PARAMS else 'MISMATCH'}")
    ok = flop_check(model) and n_params == EXPECTED_PARAMS
    if args.mode == "train":
        train(args, model)
    else:
        convs(args, model)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
