"""Trains the class-conditional v-prediction denoiser with stochastic depth and EMA.

Resumable: state lives in work/diffusion.pt; training stops once the accumulated training time
reaches --minutes (the learning-rate cosine is laid out over that same time budget).

--device cuda trains on a GPU (same network, loss and schedule; the checkpoint is saved with CPU
tensors, so a CUDA-trained checkpoint exports and resumes on a CPU-only machine). --batch sets the
batch of a new run (a resumed run keeps its own).

--init-from DIR (fine-tune): when work/diffusion.pt does not exist, the network and its EMA start
from the weights of an exported model directory (DIR/full.onnx, e.g. models/fmnist, which holds EMA
weights), checked against DIR's ONNX files with onnxruntime-node, with a fresh optimizer and the
FINETUNE_HP schedule; --minutes is then the fine-tune budget. An existing checkpoint always wins
(a killed fine-tune resumes with the hyperparameters stored in it).
"""
import argparse
import copy
import math
import os
import time

import torch

from common import ARCH, NULL_CLASS, REPO_ROOT, WORK_DIR, Denoiser, alpha_cumprod, load_split

CKPT = os.path.join(WORK_DIR, "diffusion.pt")
HP = {"batch": 128, "lr": 6e-4, "min_lr_frac": 0.03, "warmup": 300, "weight_decay": 0.01,
      "ema": 0.999, "label_drop": 0.12, "drop_prob": 0.1, "grad_clip": 1.0, "ema_warmup": True}
# Fine-tuning from exported (EMA) weights: lower peak LR, short warmup, and the EMA runs at its full
# decay from step 0 (it starts from weights that are already an average, so no EMA warmup).
FINETUNE_HP = dict(HP, lr=3e-4, warmup=100, ema_warmup=False)


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def v_target(x0, eps, abar):
    a = abar.view(-1, 1, 1, 1)
    return a.sqrt() * eps - (1 - a).sqrt() * x0


def noisy(x0, eps, abar):
    a = abar.view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


class HeldOut:
    """Fixed (image, t, noise) triples from the test split so the v-loss is comparable over time."""

    def __init__(self, n=2000):
        x, y = load_split("test")
        g = torch.Generator().manual_seed(1234)
        idx = torch.randperm(len(x), generator=g)[:n]
        self.x0, self.y = x[idx], y[idx]
        self.t = torch.rand(n, generator=g) * 1000
        self.eps = torch.randn(self.x0.shape, generator=g)

    def to(self, device):
        self.x0, self.y, self.t, self.eps = (a.to(device) for a in (self.x0, self.y, self.t, self.eps))
        return self

    @torch.no_grad()
    def loss(self, model):
        model.eval()
        total = 0.0
        for i in range(0, len(self.x0), 500):
            sl = slice(i, i + 500)
            ab = alpha_cumprod(self.t[sl])
            v = model(noisy(self.x0[sl], self.eps[sl], ab), self.t[sl], self.y[sl])
            total += (v - v_target(self.x0[sl], self.eps[sl], ab)).pow(2).mean().item() * len(v)
        return total / len(self.x0)


def load_state():
    if not os.path.exists(CKPT):
        return None
    return torch.load(CKPT, map_location="cpu")


def to_cpu(obj):
    """State dicts (nested dicts/lists of tensors) with every tensor on the CPU."""
    if torch.is_tensor(obj):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def init_from_onnx(model_dir, log):
    """Denoiser with the weights of model_dir/full.onnx, verified against the ONNX files with
    onnxruntime-node (chain, full.onnx and classifier within 1e-4); restores work/classifier.pt
    from model_dir/classifier.onnx when it is missing. Returns (model, manifest)."""
    from export import load_classifier, verify_with_onnxruntime
    from onnx_init import load_denoiser_onnx, restore_classifier_ckpt
    model, manifest = load_denoiser_onnx(model_dir)
    restore_classifier_ckpt(model_dir, os.path.join(WORK_DIR, "classifier.pt"), log)
    clf, _ = load_classifier()
    verify_with_onnxruntime(model, clf, len(model.blocks), log, model_dir=model_dir, batch=8, seed=11,
                            tag="verify_init")
    return model, manifest


def train(minutes, log=print, ckpt_every_s=120, eval_every=500, init_from=None, device="cpu", batch=None):
    torch.manual_seed(int(time.time()) % 100000)
    dev = torch.device(device)
    dev_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        log(f"device {dev_name}, torch {torch.__version__}")
    xtr, ytr = load_split("train")
    xtr, ytr = xtr.to(dev), ytr.to(dev)
    held = HeldOut().to(dev)
    st = load_state()
    hp = dict(HP if (st is None and not init_from) else FINETUNE_HP)
    if st is not None:
        hp = dict(HP, **st.get("hp", {}))  # a resumed run keeps the schedule it started with
    elif batch:
        hp["batch"] = batch
    model = Denoiser(ARCH)
    init_info = st.get("init_from") if st is not None else None
    if st is None and init_from:
        model, manifest = init_from_onnx(init_from, log)
        init_info = {"dir": os.path.relpath(os.path.abspath(init_from), REPO_ROOT),
                     "steps": manifest["training"]["steps"], "minutes": manifest["training"]["minutes"],
                     "heldOutVLoss": manifest["training"]["heldOutVLoss"]}
        log(f"init from {init_info['dir']}: {init_info['steps']} steps, {init_info['minutes']} min, "
            f"held-out v-loss {init_info['heldOutVLoss']} (model.json)")
    elif init_from:
        log(f"checkpoint {CKPT} exists: resuming it, --init-from {init_from} ignored")
    model.to(dev)
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    step, train_s, history = 0, 0.0, []
    if st is not None:
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step, train_s, history = st["step"], st["train_seconds"], st["history"]
        log(f"resume at step {step}, {train_s / 60:.1f} min trained")
    elif init_info is not None:
        hl = held.loss(ema)
        history.append({"step": 0, "minutes": 0.0, "heldOutVLoss": hl})
        log(f"step 0 held-out v-loss (EMA, test split) {hl:.4f} (loaded weights; model.json says "
            f"{init_info['heldOutVLoss']})")
        if abs(hl - init_info["heldOutVLoss"]) > 2e-3:
            raise SystemExit(f"held-out v-loss of the loaded weights {hl:.5f} does not match "
                             f"{init_info['heldOutVLoss']}: the ONNX -> torch load is wrong")
    budget = minutes * 60.0
    nparams = sum(p.numel() for p in model.parameters())
    log(f"denoiser params {nparams}, arch {ARCH}, hp {hp}, budget {minutes} min")

    def checkpoint():
        save_atomic(to_cpu({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                            "step": step, "train_seconds": train_s, "history": history,
                            "arch": ARCH, "hp": hp, "init_from": init_info,
                            "device_seconds": device_seconds}), CKPT)

    device_seconds = dict(st.get("device_seconds", {"cpu": train_s}) if st is not None else {})
    device_seconds.setdefault(dev_name, 0.0)
    ema_params, model_params = list(ema.parameters()), list(model.parameters())

    last_ckpt = time.time()
    run_loss, run_n = 0.0, 0
    while train_s < budget:
        t0 = time.time()
        frac = train_s / budget
        lr = hp["lr"] * min(1.0, (step + 1) / hp["warmup"])
        lr *= hp["min_lr_frac"] + (1 - hp["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        idx = torch.randint(0, len(xtr), (hp["batch"],), device=dev)
        x0, y = xtr[idx], ytr[idx].clone()
        y[torch.rand(len(y), device=dev) < hp["label_drop"]] = NULL_CLASS
        t = torch.rand(len(y), device=dev) * 1000
        ab = alpha_cumprod(t)
        eps = torch.randn_like(x0)
        v = model(noisy(x0, eps, ab), t, y, drop_prob=hp["drop_prob"])
        loss = (v - v_target(x0, eps, ab)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["grad_clip"])
        opt.step()
        decay = min(hp["ema"], (1 + step) / (10 + step)) if hp["ema_warmup"] else hp["ema"]
        with torch.no_grad():
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, model_params, alpha=1 - decay)
        step += 1
        run_loss += loss.item()
        run_n += 1
        dt = time.time() - t0
        train_s += dt
        device_seconds[dev_name] += dt
        if step % 100 == 0:
            log(f"step {step} loss {run_loss / run_n:.4f} lr {lr:.2e} {train_s / 60:.1f} min "
                f"({train_s / step:.2f} s/step avg)")
            run_loss, run_n = 0.0, 0
        if step % eval_every == 0:
            hl = held.loss(ema)
            history.append({"step": step, "minutes": round(train_s / 60, 2), "heldOutVLoss": hl})
            log(f"step {step} held-out v-loss (EMA, test split) {hl:.4f}")
        if time.time() - last_ckpt > ckpt_every_s:
            checkpoint()
            last_ckpt = time.time()
    if not history or history[-1]["step"] != step:
        hl = held.loss(ema)
        history.append({"step": step, "minutes": round(train_s / 60, 2), "heldOutVLoss": hl})
        log(f"step {step} held-out v-loss (EMA, test split) {hl:.4f}")
    checkpoint()
    log(f"training done: {step} steps, {train_s / 60:.1f} min")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=85)
    ap.add_argument("--init-from", default=None, help="exported model dir to fine-tune (if no checkpoint)")
    ap.add_argument("--device", default="cpu", help="torch device to train on: cpu (default) or cuda")
    ap.add_argument("--batch", type=int, default=None, help=f"batch of a new run (default {HP['batch']})")
    args = ap.parse_args()
    train(args.minutes, log=lambda s: print(s, flush=True), init_from=args.init_from, device=args.device,
          batch=args.batch)
