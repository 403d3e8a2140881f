"""The independent judge: a second Fashion-MNIST classifier that no reward, search or selection uses.

It exists so that quality figures can be checked on a network nothing was tuned against (the
model's own classifier, classifier.onnx, drives rewards and every pick). It differs from that
classifier in architecture, seed, optimiser and augmentation, and is trained on the training
split only. Exports models/fmnist/judge.onnx (image -> logits, features) and judge-stats.json
(feature mean/covariance of the test split, FD floor, test accuracy), checked with onnxruntime-node.

  python3 models/recipe/judge.py                  # train (resumes work/judge.pt), export, verify
  python3 models/recipe/judge.py --skip-train     # export the existing checkpoint only
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import OUT_DIR, RECIPE_DIR, REPO_ROOT, WORK_DIR, count_flops, fd_floor, feature_stats, load_split  # noqa: E402

CKPT = os.path.join(WORK_DIR, "judge.pt")
SEED = 1
FIXTURE_PER_CLASS = 5
FIXTURE_FILE = os.path.join(REPO_ROOT, "test", "fixtures", "fmnist-test-images.bin")


class JudgeNet(nn.Module):
    """Wide and shallow: three convs (5x5 at 28x28, then 3x3 at 14x14 and 7x7), GroupNorm instead of
    BatchNorm, GELU, average and max pooling concatenated, Linear + LayerNorm to 128 features."""

    def __init__(self, feat=128):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 48, 5, padding=2)
        self.conv2 = nn.Conv2d(48, 96, 3, padding=1)
        self.norm2 = nn.GroupNorm(8, 96)
        self.conv3 = nn.Conv2d(96, 192, 3, padding=1)
        self.norm3 = nn.GroupNorm(8, 192)
        self.fc = nn.Linear(2 * 192, feat)
        self.norm_feat = nn.LayerNorm(feat)
        self.drop = nn.Dropout(0.4)
        self.logits = nn.Linear(feat, 10)
        self.feat = feat

    def forward(self, image):
        h = F.max_pool2d(F.gelu(self.conv1(image)), 2)              # 48 x 14 x 14
        h = F.max_pool2d(F.gelu(self.norm2(self.conv2(h))), 2)      # 96 x 7 x 7
        h = F.gelu(self.norm3(self.conv3(h)))                       # 192 x 7 x 7
        pooled = torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1)
        features = F.gelu(self.norm_feat(self.fc(pooled)))
        return self.logits(self.drop(features)), features


def augment(x, g):
    """+-3 px shifts (background fill) and one random erased box per image (p 0.5); no flips."""
    B = x.shape[0]
    pad = F.pad(x, (3, 3, 3, 3), value=-1.0)
    dx, dy = torch.randint(0, 7, (2,), generator=g).tolist()
    x = pad[:, :, dy:dy + 28, dx:dx + 28].clone()
    size = torch.randint(4, 11, (B, 2), generator=g)
    corner = (torch.rand(B, 2, generator=g) * (28 - size)).long()
    ys = torch.arange(28).view(1, 28, 1)
    xs = torch.arange(28).view(1, 1, 28)
    box = ((ys >= corner[:, 0, None, None]) & (ys < (corner[:, 0] + size[:, 0])[:, None, None])
           & (xs >= corner[:, 1, None, None]) & (xs < (corner[:, 1] + size[:, 1])[:, None, None]))
    erase = (torch.rand(B, generator=g) < 0.5)[:, None, None] & box
    return torch.where(erase[:, None], torch.full_like(x, -1.0), x)


@torch.no_grad()
def run(model, x):
    model.eval()
    outs = [model(x[i:i + 1000]) for i in range(0, len(x), 1000)]
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


def train_judge(epochs, log):
    """SGD with Nesterov momentum and a per-step cosine; resumes from work/judge.pt after each epoch."""
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    model = JudgeNet()
    batch = 128
    per_epoch = len(xtr) // batch
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    start, seconds = 0, 0.0
    if os.path.exists(CKPT):
        ck = torch.load(CKPT)
        if ck.get("epochs") != epochs:
            raise SystemExit(f"{CKPT} was trained for {ck.get('epochs')} epochs, not {epochs}; delete it to start again")
        model.load_state_dict(ck["state"])
        opt.load_state_dict(ck["opt"])
        g.set_state(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        start, seconds = ck["epoch"], ck["seconds"]
        log(f"judge: resume after epoch {start}/{epochs}")
    total = epochs * per_epoch
    for ep in range(start, epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(per_epoch):
            step = ep * per_epoch + i
            for group in opt.param_groups:
                group["lr"] = 0.05 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / total)))
            idx = perm[i * batch:(i + 1) * batch]
            logits, _ = model(augment(xtr[idx], g))
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.time() - t0
        acc = (run(model, xte)[0].argmax(1) == yte).float().mean().item()
        log(f"judge epoch {ep + 1}/{epochs} loss {loss.item():.3f} test acc {acc:.4f} ({seconds / 60:.1f} min)")
        torch.save({"state": model.state_dict(), "opt": opt.state_dict(), "rng": g.get_state(),
                    "torch_rng": torch.get_rng_state(), "epoch": ep + 1, "epochs": epochs,
                    "seconds": seconds, "test_accuracy": acc}, CKPT)
    return torch.load(CKPT)


def judge_stats(model, log):
    xte, yte = load_split("test")
    xtr, _ = load_split("train")
    logits, fte = run(model, xte)
    acc = (logits.argmax(1) == yte).float().mean().item()
    fte = fte.numpy()
    mu, cov = feature_stats(fte)
    ftr = run(model, xtr)[1].numpy()
    floor = fd_floor(ftr, mu, cov, log, "judge FD floor")
    return {"file": "judge.onnx", "input": "image", "logits": "logits", "features": "features",
            "testAccuracy": round(acc, 4), "fdFloor": floor,
            "network": "JudgeNet (models/recipe/judge.py): conv5x5 48, GN conv3x3 96, GN conv3x3 192, avg+max pool, "
                       "Linear 384->128 + LayerNorm + GELU = features, Linear 128->10",
            "flops": count_flops(model, torch.zeros(1, 1, 28, 28)),
            "use": "independent judge for bench figures only; never for rewards, search or selection",
            "dim": int(fte.shape[1]), "n": int(fte.shape[0]),
            "mean": [float(f"{v:.6g}") for v in mu],
            "cov": [[float(f"{v:.6g}") for v in row] for row in cov]}


def write_fixture(log):
    """The first FIXTURE_PER_CLASS test images of each class, as uint8 pixels then uint8 labels."""
    from common import _read_idx, DATA_DIR
    images = _read_idx(os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz"))
    picked = sorted(i for c in range(10) for i in np.flatnonzero(labels == c)[:FIXTURE_PER_CLASS])
    with open(FIXTURE_FILE, "wb") as f:
        f.write(images[picked].astype(np.uint8).tobytes())
        f.write(labels[picked].astype(np.uint8).tobytes())
    log(f"wrote {os.path.relpath(FIXTURE_FILE, REPO_ROOT)}: {len(picked)} test images (indices {picked[:3]}...)")


def export_judge(model, log, out_dir=OUT_DIR):
    path = os.path.join(out_dir, "judge.onnx")
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, input_names=["image"],
                      output_names=["logits", "features"],
                      dynamic_axes={n: {0: "batch"} for n in ["image", "logits", "features"]},
                      opset_version=17, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    stats = judge_stats(model, log)
    with open(os.path.join(out_dir, "judge-stats.json"), "w") as f:
        json.dump(stats, f, separators=(",", ":"))
    log(f"judge test accuracy {stats['testAccuracy']:.4f}, {stats['flops'] / 1e6:.1f} MFLOPs per image")
    verify_judge(model, out_dir, log)
    return stats


def verify_judge(model, out_dir, log, batch=8):
    """onnxruntime-node (the product runtime) against torch on random images and the test fixture."""
    vdir = os.path.join(WORK_DIR, "verify-judge")
    os.makedirs(vdir, exist_ok=True)
    g = torch.Generator().manual_seed(11)
    image = torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1
    xte, _ = load_split("test")
    image = torch.cat([image, xte[:batch]]).contiguous()
    image.numpy().tofile(os.path.join(vdir, "image.bin"))
    subprocess.run(["node", os.path.join(RECIPE_DIR, "verify_judge.mjs"), os.path.join(out_dir, "judge.onnx"), vdir,
                    str(len(image))], check=True, cwd=REPO_ROOT)
    with torch.no_grad():
        logits, feats = model(image)
    errs = {}
    for name, want in [("logits", logits.numpy()), ("features", feats.numpy())]:
        got = np.fromfile(os.path.join(vdir, f"{name}.out.bin"), dtype=np.float32).reshape(want.shape)
        errs[name] = float(np.abs(got - want).max())
    log("judge: onnxruntime-node vs torch max abs error: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    if max(errs.values()) > 1e-4:
        raise SystemExit(f"judge.onnx does not match torch: max abs error {max(errs.values()):.2e} > 1e-4")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--skip-train", action="store_true", help="export the existing work/judge.pt only")
    ap.add_argument("--out-dir", default=OUT_DIR)
    args = ap.parse_args()

    def log(s):
        print(s, flush=True)

    if args.skip_train:
        if not os.path.exists(CKPT):
            raise SystemExit(f"{os.path.relpath(CKPT, REPO_ROOT)} does not exist: train first")
        ck = torch.load(CKPT)
    else:
        ck = train_judge(args.epochs, log)
    model = JudgeNet()
    model.load_state_dict(ck["state"])
    model.eval()
    export_judge(model, log, args.out_dir)
    write_fixture(log)


if __name__ == "__main__":
    main()
