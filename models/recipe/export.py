"""Exports the EMA denoiser as ONNX segments + full graph, the classifier and its statistics,
writes models/fmnist/model.json, and checks the ONNX chain against torch with onnxruntime-node."""
import json
import os
import shutil
import subprocess

import numpy as np
import onnx
import torch
import torch.nn as nn

from common import (ARCH, CLASSES, NULL_CLASS, OUT_DIR, RECIPE_DIR, REPO_ROOT, SCHEDULE, WORK_DIR,
                    Classifier, Denoiser, FullChain, count_flops, fd_floor, feature_stats, load_split)
from train_diffusion import CKPT, HP, HeldOut

OPSET = 17


class BlockWrap(nn.Module):
    def __init__(self, blk):
        super().__init__()
        self.blk = blk

    def forward(self, h, emb):
        return self.blk(h, emb)


def onnx_export(module, args, path, inputs, outputs):
    module.eval()
    axes = {n: {0: "batch"} for n in inputs + outputs}
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def load_denoiser():
    st = torch.load(CKPT)
    model = Denoiser(st["arch"])
    model.load_state_dict(st["ema"])
    model.eval()
    return model, st


def load_classifier():
    ck = torch.load(os.path.join(WORK_DIR, "classifier.pt"))
    clf = Classifier(ck["feat"])
    clf.load_state_dict(ck["state"])
    clf.eval()
    return clf, ck


@torch.no_grad()
def features_of(clf, x):
    return torch.cat([clf(x[i:i + 1000])[1] for i in range(0, len(x), 1000)]).numpy()


def classifier_stats(clf, log):
    xte, _ = load_split("test")
    xtr, _ = load_split("train")
    fte = features_of(clf, xte)
    mu, cov = feature_stats(fte)
    ftr = features_of(clf, xtr)
    floor = fd_floor(ftr, mu, cov, log, "FD floor")
    stats = {"dim": int(fte.shape[1]), "n": int(fte.shape[0]),
             "mean": [float(f"{v:.6g}") for v in mu],
             "cov": [[float(f"{v:.6g}") for v in row] for row in cov]}
    return stats, floor


def verify_with_onnxruntime(model, clf, nblocks, log, model_dir=OUT_DIR, batch=4, seed=7, tag="verify"):
    """Runs the exported files with onnxruntime-node (the product's runtime) and compares to torch.

    The first 4 rows are fixed (t 0 / 250.5 / 731.25 / 999, labels 0 / 3 / 9 / null); rows beyond
    that get random t in [0, 1000) and random labels 0..10."""
    vdir = os.path.join(WORK_DIR, tag)
    os.makedirs(vdir, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    B = batch
    x = torch.randn(B, 1, 28, 28, generator=g)
    t = torch.tensor([0.0, 250.5, 731.25, 999.0])
    label = torch.tensor([0, 3, 9, NULL_CLASS], dtype=torch.int64)
    image = torch.rand(B, 1, 28, 28, generator=g) * 2 - 1
    if B > 4:
        t = torch.cat([t, torch.rand(B - 4, generator=g) * 1000])
        label = torch.cat([label, torch.randint(0, NULL_CLASS + 1, (B - 4,), generator=g)])
    t, label = t[:B].contiguous(), label[:B].contiguous()
    x.numpy().tofile(os.path.join(vdir, "x.bin"))
    t.numpy().tofile(os.path.join(vdir, "t.bin"))
    label.numpy().tofile(os.path.join(vdir, "label.bin"))
    image.numpy().tofile(os.path.join(vdir, "image.bin"))
    subprocess.run(["node", os.path.join(RECIPE_DIR, "verify_chain.mjs"), model_dir, vdir, str(B), str(nblocks)],
                   check=True, cwd=REPO_ROOT)
    with torch.no_grad():
        ref = model(x, t, label).numpy()
        logits, feats = clf(image)
    errs = {}
    for name, want in [("chain", ref), ("full", ref), ("logits", logits.numpy()), ("features", feats.numpy())]:
        got = np.fromfile(os.path.join(vdir, f"{name}.out.bin"), dtype=np.float32).reshape(want.shape)
        errs[name] = float(np.abs(got - want).max())
    log(f"onnxruntime-node ({os.path.relpath(model_dir, REPO_ROOT)}, batch {B}) vs torch max abs error: "
        + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    worst = max(errs.values())
    if worst > 1e-4:
        raise SystemExit(f"ONNX chain does not match torch: max abs error {worst:.2e} > 1e-4")
    return errs


def training_summary(st, held_out):
    """model.json "training": totals over the initial run and any fine-tune (build.py --init-from)."""
    init = st.get("init_from")
    # minutes of training per device (checkpoints from before --device existed trained on the CPU)
    devices = {k: round(v / 60, 1) for k, v in st.get("device_seconds", {"cpu": st["train_seconds"]}).items()}
    if not init:
        return {"steps": st["step"], "heldOutVLoss": round(held_out, 5), "batch": st["hp"]["batch"],
                "minutes": round(st["train_seconds"] / 60, 1), "devices": devices,
                "recipe": "models/recipe/README.md"}
    return {"steps": init["steps"] + st["step"], "heldOutVLoss": round(held_out, 5),
            "minutes": round(init["minutes"] + st["train_seconds"] / 60, 1), "recipe": "models/recipe/README.md",
            "fineTune": {"from": init["dir"], "fromSteps": init["steps"], "fromHeldOutVLoss": init["heldOutVLoss"],
                         "steps": st["step"], "minutes": round(st["train_seconds"] / 60, 1), "devices": devices,
                         "batch": st["hp"]["batch"], "lr": st["hp"]["lr"], "warmup": st["hp"]["warmup"]}}


def export_all(log=print, out_dir=OUT_DIR, classifier_from=None):
    """out_dir: where the model files go (default models/fmnist; build.py --stage-dir writes elsewhere).
    classifier_from: a model dir whose classifier.onnx, classifier-stats.json and classifier figures are
    copied verbatim (so FD figures stay comparable) instead of re-exporting the classifier and
    recomputing its statistics."""
    OUT_DIR = out_dir
    os.makedirs(OUT_DIR, exist_ok=True)
    model, st = load_denoiser()
    clf, cck = load_classifier()
    a = st["arch"]
    x1, t1, y1 = torch.zeros(1, 1, 28, 28), torch.tensor([500.0]), torch.tensor([3], dtype=torch.int64)
    with torch.no_grad():
        h1, e1 = model.embed(x1, t1, y1)
    C, H, W, E = h1.shape[1], h1.shape[2], h1.shape[3], e1.shape[1]
    segments = []
    onnx_export(model.embed, (x1, t1, y1), os.path.join(OUT_DIR, "embed.onnx"), ["x", "t", "label"], ["h", "emb"])
    segments.append({"name": "embed", "kind": "embed", "file": "embed.onnx", "inputs": ["x", "t", "label"],
                     "outputs": ["h", "emb"], "flops": count_flops(model.embed, x1, t1, y1)})
    for i, blk in enumerate(model.blocks):
        name = f"block_{i:02d}"
        onnx_export(BlockWrap(blk), (h1, e1), os.path.join(OUT_DIR, name + ".onnx"), ["h", "emb"], ["h_out"])
        segments.append({"name": name, "kind": "block", "file": name + ".onnx", "inputs": ["h", "emb"],
                         "outputs": ["h_out"], "flops": count_flops(BlockWrap(blk), h1, e1)})
    onnx_export(model.head, (h1, e1, x1), os.path.join(OUT_DIR, "head.onnx"), ["h", "emb", "x"], ["out"])
    segments.append({"name": "head", "kind": "head", "file": "head.onnx", "inputs": ["h", "emb", "x"],
                     "outputs": ["out"], "flops": count_flops(model.head, h1, e1, x1)})
    full = FullChain(model)
    onnx_export(full, (x1, t1, y1), os.path.join(OUT_DIR, "full.onnx"), ["x", "t", "label"], ["out"])
    full_flops = count_flops(full, x1, t1, y1)
    assert full_flops == sum(s["flops"] for s in segments), "segment FLOPs must add up to the full graph"
    biggest = max(s["flops"] for s in segments if s["kind"] == "block")
    log(f"FLOPs per sample: full {full_flops / 1e6:.1f}M, largest block {biggest / full_flops:.1%} of total")
    assert biggest <= 0.2 * full_flops

    if classifier_from:
        with open(os.path.join(classifier_from, "model.json")) as f:
            src_clf = json.load(f)["classifier"]
        for name in (src_clf["file"], src_clf["stats"]):
            src, dst = os.path.join(classifier_from, name), os.path.join(OUT_DIR, name)
            if not (os.path.exists(dst) and os.path.samefile(src, dst)):
                shutil.copyfile(src, dst)
        floor, test_acc = src_clf["fdFloor"], src_clf["testAccuracy"]
        log(f"classifier: copied {src_clf['file']} and {src_clf['stats']} from {classifier_from}")
    else:
        onnx_export(clf, (torch.zeros(1, 1, 28, 28),), os.path.join(OUT_DIR, "classifier.onnx"),
                    ["image"], ["logits", "features"])
        stats, floor = classifier_stats(clf, log)
        with open(os.path.join(OUT_DIR, "classifier-stats.json"), "w") as f:
            json.dump(stats, f, separators=(",", ":"))
        test_acc = round(cck["test_accuracy"], 4)

    held_out = HeldOut().loss(model)  # same fixed test-split triples as the training log
    log(f"held-out v-loss of the exported EMA weights: {held_out:.5f}")
    manifest = {
        "format": "fewstep-segmented/1",
        "name": "fmnist",
        "description": (f"Class-conditional v-prediction diffusion model of Fashion-MNIST 28x28 "
                        f"(cosine schedule, classifier-free guidance via null class 10), "
                        f"a chain of embed -> {len(model.blocks)} residual blocks -> head over a "
                        f"[{C},{H},{W}] residual stream; trained with stochastic depth so blocks can be skipped. "
                        f"{sum(p.numel() for p in model.parameters())} parameters, EMA weights."),
        "image": {"channels": 1, "height": 28, "width": 28, "range": [-1, 1]},
        "classes": CLASSES,
        "nullClass": NULL_CLASS,
        "prediction": "v",
        "schedule": SCHEDULE,
        "stochasticDepth": HP["drop_prob"],
        "segments": segments,
        "full": {"file": "full.onnx", "flops": full_flops},
        "classifier": {"file": "classifier.onnx", "input": "image", "logits": "logits", "features": "features",
                       "stats": "classifier-stats.json", "testAccuracy": test_acc,
                       "fdFloor": floor},
        "training": training_summary(st, held_out),
    }
    with open(os.path.join(OUT_DIR, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log(f"shapes: h [B,{C},{H},{W}], emb [B,{E}], features [B,{cck['feat']}]")
    verify_with_onnxruntime(model, clf, len(model.blocks), log, model_dir=OUT_DIR)
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    log(f"wrote {OUT_DIR} ({total / 1e6:.1f} MB)")
    return manifest


if __name__ == "__main__":
    export_all(log=lambda s: print(s, flush=True))
