"""The torch peer of bench/peer.ts: the plain PyTorch eager sampling loop a torch-based tool would
run, on the same weights (loaded from the model dir's full.onnx through onnx_init.py).

It serves timing requests over stdin/stdout so the bench interleaves it with its own
measurements in one run (both sides wait while the other works):

    request  {"batch": 16, "timesteps": [999, 749, 499, 249], "cfg": 2}
    reply    {"ms": 371.2, "mean": -0.41}           (one warm sampling run; mean of the images)

The loop is the DDIM step of bench/speed.ts: the batch doubled for classifier-free guidance
(labels, then the null label), one network call per step, x0/eps from the v prediction.
`--threads` sets torch's intra-op threads (default 2, as everything in the recipe).

    /usr/bin/python3 models/recipe/torch_peer.py --model-dir models/fmnist [--threads 2]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from common import NULL_CLASS, alpha_cumprod  # noqa: E402
from onnx_init import load_denoiser_onnx  # noqa: E402


@torch.no_grad()
def sample(model, batch, timesteps, cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    labels = torch.cat([torch.arange(batch) % 10, torch.full((batch,), NULL_CLASS)])
    for i, t in enumerate(timesteps):
        tt = torch.full((2 * batch,), float(t))
        v = model(torch.cat([x, x]), tt, labels)
        v = v[batch:] + cfg * (v[:batch] - v[batch:])
        a = alpha_cumprod(torch.tensor(float(t)))
        a_next = alpha_cumprod(torch.tensor(float(timesteps[i + 1]))) if i + 1 < len(timesteps) else torch.tensor(1.0)
        x0 = a.sqrt() * x - (1 - a).sqrt() * v
        eps = (1 - a).sqrt() * x + a.sqrt() * v
        x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_denoiser_onnx(os.path.abspath(args.model_dir))
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        started = time.perf_counter()
        x = sample(model, req["batch"], req["timesteps"], req["cfg"], req.get("seed", 0))
        ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"ms": ms, "mean": float(x.mean())}), flush=True)


if __name__ == "__main__":
    main()
