"""Activation ranges of every Conv of the denoiser, from the model's own sampling trajectories.

The torch network is loaded from an exported model dir (onnx_init.py) and sampled with the DDIM
loop of common.py, guided (so the null label's half of the doubled batch is seen too), over several
step counts so the timesteps cover [0, 999]: the same inputs the product feeds the ONNX graphs.
Forward hooks record, per Conv module, the range of its input and of its output. The range kept is
a high percentile of |values| per side rather than the bare min/max (a few outliers in 10^6 values
would otherwise set the int8 step for everything).
"""
import numpy as np
import torch
import torch.nn as nn

from common import ddim_sample

DEFAULT_PLAN = [(4, 2.0), (8, 1.5), (20, 2.0)]  # (steps, cfg) trajectories


@torch.no_grad()
def conv_ranges(model, per_class=4, plan=DEFAULT_PLAN, seed=123, percentile=99.99, log=print):
    """-> {module name: {"in": [lo, hi], "out": [lo, hi]}} over all trajectories in `plan`."""
    samples = {}
    hooks = []

    def hook(name):
        def record(module, inp, out):
            for side, t in (("in", inp[0]), ("out", out)):
                v = t.detach().reshape(-1)
                # a strided subsample keeps memory small at large batches; enough for a 99.99 percentile
                if v.numel() > 20_000:
                    v = v[:: v.numel() // 20_000]
                samples.setdefault((name, side), []).append(v.numpy().copy())
        return record

    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(hook(name)))
    labels = torch.arange(10).repeat(per_class)
    try:
        for i, (steps, cfg) in enumerate(plan):
            ddim_sample(model, labels, steps=steps, cfg=cfg, seed=seed + i, batch=len(labels))
            log(f"calibration: {steps}-step DDIM cfg {cfg} trajectory on {len(labels)} images (and the null label)")
    finally:
        for h in hooks:
            h.remove()
    ranges = {}
    for (name, side), parts in samples.items():
        v = np.concatenate(parts)
        lo, hi = np.percentile(v, 100 - percentile), np.percentile(v, percentile)
        ranges.setdefault(name, {})[side] = [float(min(lo, 0.0)), float(max(hi, 0.0))]
    return ranges

