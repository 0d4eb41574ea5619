"""Writes tests/fixtures/optim.safetensors for tests/test_optimizer.c: a few optimizer steps of
Ultralytics 8.3.127's own training code (build_optimizer's groups, LambdaLR, the warmup lines of
_do_train, clip_grad_norm_, PyTorch's SGD/Adam/AdamW, ModelEMA) on a tiny conv-BN-conv network,
plus reference values of the schedule helpers. The C test replays the same steps and compares.

Run with the venv that setup.sh creates:  scripts/reference/.venv/bin/python scripts/reference/make_optim_fixtures.py

Run it on an x86 machine with AVX2 (PyTorch's usual CPU kernels): PyTorch's kernels for older
CPUs (ATEN_CPU_CAPABILITY=default) do not fuse the multiply-adds that src/engine/optimizer.c
reproduces, and give slightly different bits.

What the file holds (all tensors F32; doubles go in the metadata as Python reprs, which strtod
reads back exactly):
- init.<name>: every state-dict entry of the network before training (num_batches_tracked left
  out, as our graph has none); model.2.conv.weight is frozen, like DFL's.
- grad.<k>.<name>: the gradient of each trainable parameter at step k, before clipping. Some
  steps' norms are above max_norm 10 and some below.
- stats.<k>.<bn buffer>: BN running statistics written into the model before step k (standing in
  for the forward pass), so the EMA averages buffers that change.
- <opt>.<k>.<name> for opt in sgd, adam, adamw: every trainable parameter after step k;
  <opt>.norm: clip_grad_norm_'s return value at each step.
- sgd.ema.<k>.<name>: every state entry of the EMA after step k (the EMA starts at update 1999, so
  d is near 0.63 and both terms count).
- metadata: the run's hyperparameters; <opt>.lr.<k> (three group lrs) and <opt>.momentum.<k> used
  at step k; warmup lengths, accumulate values, `auto` choices, EMA decays and lf values.
"""

import os
import types
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ["YOLO_OFFLINE"] = "true"
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(__file__).resolve().parent / ".venv" / "ultralytics-config"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn, optim  # noqa: E402
from ultralytics.engine.trainer import BaseTrainer  # noqa: E402
from ultralytics.utils.torch_utils import ModelEMA, one_cycle  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "optim.safetensors"

# The run: 3 epochs of nb=2 iterations, warmup over the first nw=3 iterations (shortened from
# Ultralytics' minimum of 100 so that steps inside and after warmup both occur).
EPOCHS, NB, NW, LRF = 10, 2, 3, 0.01
STEPS = 3 * NB
LR0, MOMENTUM, WARMUP_BIAS_LR, WARMUP_MOMENTUM = 0.01, 0.937, 0.1, 0.8
WEIGHT_DECAY = 0.0005 * 16 * 4 / 64  # Ultralytics' scaling for batch 16, accumulate 4
GRAD_SCALE = [0.1, 1.0, 0.05, 3.0, 0.2, 0.5]  # norms about 3.7, 37, 1.9, 110, 7.4, 19
EMA_UPDATES0 = 1999


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 21, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(21)


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 1, 1, bias=False).requires_grad_(False)


class Net(nn.Module):
    """State-dict names as our test graph's: model.0.conv/bn, model.1 (conv with bias), model.2.conv.
    Tensor sizes (945, 21, 399, 19) exercise both PyTorch's vector loops and their scalar tails."""

    def __init__(self):
        super().__init__()
        self.model = nn.ModuleList([ConvBN(), nn.Conv2d(21, 19, 1), Frozen()])


def float_entries(module):
    return {k: v for k, v in module.state_dict().items() if v.dtype.is_floating_point}


def fake_trainer(nc=80):
    """What build_optimizer reads from self."""
    args = types.SimpleNamespace(lr0=LR0, momentum=MOMENTUM, warmup_bias_lr=WARMUP_BIAS_LR)
    return types.SimpleNamespace(args=args, data={"nc": nc})


def run(name, init, grads, stats, tensors, meta, with_ema):
    net = Net()
    net.load_state_dict({**net.state_dict(), **init})
    trainer = fake_trainer()
    optimizer = BaseTrainer.build_optimizer(trainer, net, name=name, lr=LR0, momentum=MOMENTUM, decay=WEIGHT_DECAY)
    lf = lambda x: max(1 - x / EPOCHS, 0) * (1.0 - LRF) + LRF  # noqa: E731  (trainer._setup_scheduler)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)
    scheduler.last_epoch = -1
    ema = ModelEMA(net, updates=EMA_UPDATES0) if with_ema else None
    key = name.lower()
    norms = []
    for ni in range(STEPS):
        epoch, i = divmod(ni, NB)
        if i == 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # as the trainer: stepping the scheduler first is intended
                scheduler.step()
        # trainer._do_train's warmup, verbatim but for self.
        if ni <= NW:
            xi = [0, NW]
            for j, x in enumerate(optimizer.param_groups):
                x["lr"] = np.interp(ni, xi, [trainer.args.warmup_bias_lr if j == 0 else 0.0, x["initial_lr"] * lf(epoch)])
                if "momentum" in x:
                    x["momentum"] = np.interp(ni, xi, [WARMUP_MOMENTUM, MOMENTUM])
        meta[f"{key}.lr.{ni}"] = " ".join(repr(float(x["lr"])) for x in optimizer.param_groups)
        g0 = optimizer.param_groups[0]
        meta[f"{key}.momentum.{ni}"] = repr(float(g0["momentum"] if "momentum" in g0 else g0["betas"][0]))
        with torch.no_grad():
            for k, v in stats[ni].items():
                net.state_dict()[k].copy_(v)
        for k, p in net.named_parameters():
            p.grad = grads[ni][k].clone() if p.requires_grad else None
        # trainer.optimizer_step without the scaler.
        norms.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=10.0)))
        optimizer.step()
        optimizer.zero_grad()
        if ema:
            ema.update(net)
        for k, p in net.named_parameters():
            if p.requires_grad:
                tensors[f"{key}.{ni}.{k}"] = p.detach().clone()
        if ema:
            for k, v in float_entries(ema.ema).items():
                tensors[f"{key}.ema.{ni}.{k}"] = v.clone()
    tensors[f"{key}.norm"] = torch.tensor(norms, dtype=torch.float32)


def main():
    gen = torch.Generator().manual_seed(7)
    net = Net()
    init = {}
    for k, v in float_entries(net).items():
        if k.endswith("running_var"):
            init[k] = 0.5 + torch.rand(v.shape, generator=gen)
        else:
            init[k] = torch.randn(v.shape, generator=gen) * 0.5
    trainable = [k for k, p in net.named_parameters() if p.requires_grad]
    grads, stats = [], []
    for ni in range(STEPS):
        step = {k: torch.randn(init[k].shape, generator=gen) * GRAD_SCALE[ni] for k in trainable}
        # Tiny gradients in part of the conv weight, where Adam's eps matters.
        step["model.0.conv.weight"].view(-1)[:100] *= 1e-7
        grads.append(step)
        stats.append({
            "model.0.bn.running_mean": torch.randn(21, generator=gen) * 0.5,
            "model.0.bn.running_var": 0.5 + torch.rand(21, generator=gen),
        })

    tensors = {f"init.{k}": v for k, v in init.items()}
    for ni in range(STEPS):
        tensors.update({f"grad.{ni}.{k}": v for k, v in grads[ni].items()})
        tensors.update({f"stats.{ni}.{k}": v for k, v in stats[ni].items()})
    meta = {
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "epochs": str(EPOCHS), "nb": str(NB), "nw": str(NW), "steps": str(STEPS),
        "lrf": repr(LRF), "lr0": repr(LR0), "momentum": repr(MOMENTUM),
        "warmup_bias_lr": repr(WARMUP_BIAS_LR), "warmup_momentum": repr(WARMUP_MOMENTUM),
        "weight_decay": repr(WEIGHT_DECAY), "ema_updates0": str(EMA_UPDATES0),
    }
    for name in ("SGD", "Adam", "AdamW"):
        run(name, init, grads, stats, tensors, meta, with_ema=name == "SGD")

    # Reference values of the schedule helpers, by Ultralytics' own expressions.
    for we, nb in [(3.0, 10), (3.0, 50), (2.5, 41), (2.5, 43), (0.5, 201), (0.0, 50)]:
        meta[f"nw.{we!r}.{nb}"] = str(max(round(we * nb), 100) if we > 0 else -1)
    for batch in (16, 24, 48, 5, 128):
        for ni in (0, 1, 37, 150, 225, 299, 300):
            xi = [0, 300]
            meta[f"accumulate.{batch}.{ni}"] = str(max(1, int(np.interp(ni, xi, [1, 64 / batch]).round())))
    for nc in (1, 3, 7, 80, 1000):
        for iterations in (10000, 10001):
            t = fake_trainer(nc)
            o = BaseTrainer.build_optimizer(t, Net(), name="auto", lr=LR0, momentum=MOMENTUM, decay=WEIGHT_DECAY,
                                            iterations=iterations)
            g = o.param_groups[0]
            beta1 = g["momentum"] if "momentum" in g else g["betas"][0]
            meta[f"auto.{nc}.{iterations}"] = f"{type(o).__name__} {g['lr']!r} {beta1!r} {t.args.warmup_bias_lr!r}"
    ema = ModelEMA(Net())
    for updates in (1, 100, 2000, 10000):
        meta[f"ema.d.{updates}"] = repr(ema.decay(updates))
    cosine = one_cycle(1, LRF, 100)
    for e in (0, 1, 37, 50, 99, 100):
        meta[f"lf.linear.{e}"] = repr(max(1 - e / 100, 0) * (1.0 - LRF) + LRF)
        meta[f"lf.cosine.{e}"] = repr(cosine(e))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT), metadata=meta)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(tensors)} tensors, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
