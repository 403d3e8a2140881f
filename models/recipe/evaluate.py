"""Samples the EMA denoiser with DDIM + CFG, renders a per-class grid PNG, and measures the Frechet
distance (classifier features, vs the test split's statistics) and classifier agreement.

By default it scores the checkpoint work/diffusion.pt with work/classifier.pt and models/fmnist's
classifier-stats.json. --model-dir DIR scores an exported model instead: denoiser from DIR/full.onnx,
classifier from DIR/classifier.onnx, statistics from DIR (loaded into the same torch code, so two
model dirs are compared with the same sampler, seeds and scorer); it also prints the held-out v-loss."""
import argparse
import json
import os
import time

import numpy as np
import torch
from PIL import Image

from common import OUT_DIR, WORK_DIR, ddim_sample, feature_stats, frechet
from export import features_of, load_classifier, load_denoiser
from onnx_init import load_classifier_onnx, load_denoiser_onnx


def save_grid(images, path, cols=10, scale=2):
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).squeeze(1).numpy()
    rows = len(x) // cols
    grid = np.full((rows * 30, cols * 30), 255, np.uint8)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        grid[r * 30 + 1:r * 30 + 29, c * 30 + 1:c * 30 + 29] = x[i]
    Image.fromarray(grid).resize((cols * 30 * scale, rows * 30 * scale), Image.NEAREST).save(path)


def grid(model, steps=50, cfg=2.0, path=None, seed=0):
    labels = torch.arange(10).repeat_interleave(10)
    imgs = ddim_sample(model, labels, steps=steps, cfg=cfg, seed=seed)
    path = path or os.path.join(WORK_DIR, f"grid_{steps}steps_cfg{cfg}.png")
    save_grid(imgs, path)
    return path


def metrics(model, clf, stats, steps, cfg, n=1000, seed=1, train_step=0, chunk=100, tag=""):
    """Samples in chunks of `chunk` images (10 per class) cached under work/eval_cache/, so a run
    that gets killed resumes where it stopped."""
    labels = torch.arange(10).repeat(n // 10)
    cache = os.path.join(WORK_DIR, "eval_cache", f"{tag}step{train_step}_ddim{steps}_cfg{cfg}_seed{seed}")
    os.makedirs(cache, exist_ok=True)
    t0 = time.time()
    parts = []
    for i in range(0, n, chunk):
        path = os.path.join(cache, f"{i:05d}.pt")
        if os.path.exists(path):
            parts.append(torch.load(path))
            continue
        part = ddim_sample(model, labels[i:i + chunk], steps=steps, cfg=cfg, seed=seed * 100000 + i)
        torch.save(part, path)
        parts.append(part)
        print(f"  sampled {i + chunk}/{n} ({time.time() - t0:.0f}s)", flush=True)
    imgs = torch.cat(parts)
    with torch.no_grad():
        logits = torch.cat([clf(imgs[i:i + 1000])[0] for i in range(0, len(imgs), 1000)])
    agree = (logits.argmax(1) == labels).float().mean().item()
    mu, cov = feature_stats(features_of(clf, imgs))
    fd = frechet(mu, cov, stats["mean"], stats["cov"])
    return {"steps": steps, "cfg": cfg, "n": n, "fd": round(fd, 4), "agreement": round(agree, 4),
            "seconds": round(time.time() - t0, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, nargs="+", default=[100])
    ap.add_argument("--cfg", type=float, nargs="+", default=[2.0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--grid-only", action="store_true")
    ap.add_argument("--no-grid", action="store_true")
    ap.add_argument("--model-dir", default=None, help="score an exported model dir (full.onnx) instead of the checkpoint")
    args = ap.parse_args()
    tag, model_dir = "", OUT_DIR
    if args.model_dir:
        model_dir = os.path.abspath(args.model_dir)
        model, manifest = load_denoiser_onnx(model_dir)
        st = {"step": manifest["training"]["steps"], "train_seconds": manifest["training"]["minutes"] * 60}
        tag = os.path.basename(model_dir.rstrip("/")) + "_"
        print(f"denoiser from {model_dir}/full.onnx ({st['step']} steps, {manifest['training']['minutes']} min)",
              flush=True)
        from train_diffusion import HeldOut
        print(f"held-out v-loss (test split, same triples as training): {HeldOut().loss(model):.5f}", flush=True)
    else:
        model, st = load_denoiser()
        print(f"denoiser at step {st['step']} ({st['train_seconds'] / 60:.1f} min)", flush=True)
    for cfg in ([] if args.no_grid else args.cfg):
        print("grid:", grid(model, 50, cfg, path=os.path.join(WORK_DIR, f"grid_{tag}50steps_cfg{cfg}.png")),
              flush=True)
    if args.grid_only:
        return
    if args.model_dir:
        clf, _ = load_classifier_onnx(model_dir)
    else:
        clf, _ = load_classifier()
    with open(os.path.join(model_dir, "classifier-stats.json")) as f:
        stats = json.load(f)
    results = []
    for steps in args.steps:
        for cfg in args.cfg:
            r = metrics(model, clf, stats, steps, cfg, args.n, train_step=st["step"], tag=tag)
            r["trainStep"] = st["step"]
            if args.model_dir:
                r["modelDir"] = os.path.relpath(model_dir)
            print(json.dumps(r), flush=True)
            results.append(r)
    with open(os.path.join(WORK_DIR, "eval.jsonl"), "a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
