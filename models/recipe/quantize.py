"""Builds the int8 copy of an exported model (default models/fmnist -> models/fmnist-int8).

    /usr/bin/python3 models/recipe/quantize.py                  # calibrate, quantize, check
    /usr/bin/python3 models/recipe/quantize.py --keep-fp32 head  # modules (prefixes) left in fp32

Static QDQ quantization, per segment so SkipGate still runs the int8 blocks one by one: every
segment file (embed, block_ii, head) and full.onnx get the same treatment from the same ranges
(qdq.py: per-channel symmetric int8 weights, per-tensor uint8 activations, int32 biases), so the
chain and full.onnx give the same outputs. Ranges are calibrated on the model's own DDIM
trajectories (calibration.py). The classifier is copied unchanged (it scores both models alike).

Left in fp32 by default: the three convolutions with a single input or output channel (embed.stem1
and head.xconv read the 1-channel image, head.out writes the prediction itself: <0.3% of the
FLOPs, and an 8-bit output would round v to 1/255 of its range); every Gemm (the time MLP and the
FiLM projections: 0.4% of the FLOPs) and every norm, activation, resize and add.

The check, like export.py's but with tolerances for int8: onnxruntime-node runs the int8 chain and
full.onnx (verify_chain.mjs) on held-out trajectory states (a seed the calibration did not use)
and they are compared to the fp32 torch network; the relative RMS error of v must stay under
--max-rel-error, the chain must equal full.onnx within 1e-3, and the copied classifier within 1e-4.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from calibration import DEFAULT_PLAN, conv_ranges  # noqa: E402
from common import NULL_CLASS, RECIPE_DIR, REPO_ROOT, WORK_DIR, ddim_sample  # noqa: E402
from onnx_init import load_classifier_onnx, load_denoiser_onnx  # noqa: E402
from qdq import commute_upsample_pointwise, derived_from, quantize_convs  # noqa: E402

DEFAULT_KEEP = ["embed.stem1", "head.xconv", "head.out"]


def log(s):
    print(s, flush=True)


def kept(ranges, prefixes):
    """Module names under any of the given prefixes ('head' keeps every conv of the head)."""
    return sorted(m for m in ranges if any(m == p or m.startswith(p + ".") for p in prefixes))


@torch.no_grad()
def trajectory_states(model, n_rows=64, seed=987):
    """(x, t, label) rows the denoiser sees while sampling (4- and 20-step DDIM, guided): held-out
    inputs for the check, spread over the trajectory's timesteps and both halves of the cfg batch."""
    rows = []
    real_forward = model.forward

    def recording(x, t, label, *a, **k):
        rows.append((x.clone(), t.clone(), label.clone()))
        return real_forward(x, t, label, *a, **k)

    model.forward = recording
    try:
        labels = torch.arange(10).repeat(2)
        ddim_sample(model, labels, steps=4, cfg=2.0, seed=seed, batch=len(labels))
        ddim_sample(model, labels, steps=20, cfg=1.5, seed=seed + 1, batch=len(labels))
    finally:
        model.forward = real_forward
    x = torch.cat([r[0] for r in rows])
    t = torch.cat([r[1] for r in rows])
    label = torch.cat([r[2] for r in rows])
    # evenly spaced in t, so every timestep of both trajectories is represented
    pick = torch.argsort(t, stable=True)[torch.linspace(0, len(t) - 1, n_rows).round().long()]
    return x[pick].contiguous(), t[pick].contiguous(), label[pick].contiguous()


def check_int8(model, clf, out_dir, nblocks, max_rel_error, tag="verify-int8"):
    vdir = os.path.join(WORK_DIR, tag)
    os.makedirs(vdir, exist_ok=True)
    x, t, label = trajectory_states(model)
    image = torch.rand(len(x), 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1
    for name, value in (("x", x), ("t", t), ("label", label), ("image", image)):
        value.numpy().tofile(os.path.join(vdir, f"{name}.bin"))
    subprocess.run(["node", os.path.join(RECIPE_DIR, "verify_chain.mjs"), out_dir, vdir, str(len(x)), str(nblocks)],
                   check=True, cwd=REPO_ROOT)
    with torch.no_grad():
        ref = model(x, t, label).numpy()
        logits, feats = clf(image)
    got = {name: np.fromfile(os.path.join(vdir, f"{name}.out.bin"), dtype=np.float32) for name in
           ("chain", "full", "logits", "features")}
    rel = {k: float(np.sqrt(np.mean((got[k].reshape(ref.shape) - ref) ** 2) / np.mean(ref ** 2))) for k in ("chain", "full")}
    errs = {"chain vs full": float(np.abs(got["chain"] - got["full"]).max()),
            "classifier logits": float(np.abs(got["logits"] - logits.numpy().reshape(-1)).max()),
            "classifier features": float(np.abs(got["features"] - feats.numpy().reshape(-1)).max())}
    nulls = int((label == NULL_CLASS).sum())
    log(f"int8 ({os.path.relpath(out_dir, REPO_ROOT)}) vs fp32 torch on {len(x)} held-out trajectory states "
        f"(t {float(t.min()):.0f}..{float(t.max()):.0f}, {nulls} null-label rows): relative RMS error of v "
        f"chain {rel['chain']:.4f}, full {rel['full']:.4f}; max abs: "
        + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    if max(rel.values()) > max_rel_error:
        raise SystemExit(f"int8 model is too far from fp32: relative RMS error {max(rel.values()):.4f} > {max_rel_error}")
    if errs["chain vs full"] > 1e-3:
        raise SystemExit(f"int8 chain and full.onnx disagree: {errs['chain vs full']:.2e} > 1e-3")
    if max(errs["classifier logits"], errs["classifier features"]) > 1e-4:
        raise SystemExit("the copied classifier does not match torch")
    return rel, errs


def check_derived(src, out, manifest):
    """Every int8 file is its fp32 namesake quantized (weights within half an int8 step)."""
    files = [s["file"] for s in manifest["segments"]] + [manifest["full"]["file"]]
    total = 0
    for file in files:
        problems, n = derived_from(onnx.load(os.path.join(src, file)), onnx.load(os.path.join(out, file)))
        if problems:
            raise SystemExit(f"{os.path.relpath(os.path.join(out, file), REPO_ROOT)} is not {file} of "
                             f"{os.path.relpath(src, REPO_ROOT)} quantized (re-run quantize.py): " + "; ".join(problems[:3]))
        total += n
    log(f"int8 files derive from {os.path.relpath(src, REPO_ROOT)}: {total} quantized tensors within half a step, "
        "every other initializer unchanged")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", default=os.path.join(REPO_ROOT, "models", "fmnist"))
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "models", "fmnist-int8"))
    ap.add_argument("--keep-fp32", default=",".join(DEFAULT_KEEP),
                    help="comma-separated torch module names or prefixes whose convs stay fp32")
    ap.add_argument("--per-class", type=int, default=8, help="calibration images per class per trajectory")
    ap.add_argument("--percentile", type=float, default=99.99)
    ap.add_argument("--max-rel-error", type=float, default=0.06)
    ap.add_argument("--ranges", help="reuse the ranges a previous run saved (work/<name>-ranges.json) instead of calibrating")
    ap.add_argument("--check-only", action="store_true", help="check an existing --out against --from, build nothing")
    args = ap.parse_args()
    src, out = os.path.abspath(args.src), os.path.abspath(args.out)
    with open(os.path.join(src, "model.json")) as f:
        manifest = json.load(f)
    model, _ = load_denoiser_onnx(src)
    clf, _ = load_classifier_onnx(src)
    if args.check_only:
        check_derived(src, out, manifest)
        check_int8(model, clf, out, len(manifest["segments"]) - 2, args.max_rel_error)
        return
    if args.ranges:
        with open(args.ranges) as f:
            ranges = json.load(f)
        log(f"ranges from {args.ranges}")
    else:
        ranges = conv_ranges(model, per_class=args.per_class, percentile=args.percentile, log=log)
    keep = kept(ranges, [p for p in args.keep_fp32.split(",") if p])
    os.makedirs(out, exist_ok=True)
    quantized = set()
    files = [(s["file"], s["file"][:-len(".onnx")]) for s in manifest["segments"]] + [(manifest["full"]["file"], "full")]
    commuted = 0
    for file, stem in files:
        graph = onnx.load(os.path.join(src, file))
        commuted += commute_upsample_pointwise(graph)
        q, done = quantize_convs(graph, ranges, stem, keep_fp32=keep)
        onnx.save(q, os.path.join(out, file))
        quantized.update(done)
    for name in (manifest["classifier"]["file"], manifest["classifier"]["stats"]):
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    conv_total = len(ranges)
    log(f"quantized {len(quantized)} of {conv_total} convs; fp32: {', '.join(keep) or 'none'}; "
        f"{commuted} upsample + 1x1 conv pairs swapped")
    name = os.path.basename(out)
    manifest["name"] = name
    manifest["description"] = (f"int8 (QDQ) copy of {manifest['description'][0].lower()}{manifest['description'][1:]}")
    manifest["quantization"] = {
        "from": os.path.relpath(src, os.path.dirname(out)),
        "format": "onnx-qdq",
        "weights": "int8, per output channel, symmetric",
        "activations": "uint8, per tensor, asymmetric",
        "calibration": {"trajectories": [{"steps": s, "cfg": c} for s, c in DEFAULT_PLAN],
                        "imagesPerTrajectory": 10 * args.per_class, "percentile": args.percentile},
        "fp32Convs": keep,
        "int8Convs": len(quantized),
        "rewrites": "nearest upsample -> 1x1 conv swapped to 1x1 conv -> upsample (exact); flops as the fp32 model's",
        "recipe": "models/recipe/quantize.py",
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    if not args.ranges:
        with open(os.path.join(WORK_DIR, f"{name}-ranges.json"), "w") as f:
            json.dump(ranges, f, indent=1)
    check_derived(src, out, manifest)
    check_int8(model, clf, out, len(manifest["segments"]) - 2, args.max_rel_error)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    log(f"wrote {os.path.relpath(out, REPO_ROOT)} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
