"""Trains the Fashion-MNIST classifier used for FD / agreement scoring; saves work/classifier.pt."""
import os
import time

import torch
import torch.nn.functional as F

from common import WORK_DIR, Classifier, load_split


def augment(x):
    # light augmentation: horizontal flip and +-2 px shifts
    flip = torch.rand(x.shape[0]) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,))
    return pad[:, :, dy:dy + 28, dx:dx + 28]


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            logits, _ = model(x[i:i + 1000])
            correct += (logits.argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train_classifier(epochs=6, log=print):
    path = os.path.join(WORK_DIR, "classifier.pt")
    if os.path.exists(path):
        ck = torch.load(path)
        log(f"classifier: reuse {path} (test accuracy {ck['test_accuracy']:.4f})")
        return ck
    torch.manual_seed(0)
    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    model = Classifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    steps = epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // 128):
            idx = perm[i * 128:(i + 1) * 128]
            logits, _ = model(augment(xtr[idx]))
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte)
        log(f"classifier epoch {ep + 1}/{epochs} loss {loss.item():.3f} test acc {acc:.4f} ({time.time() - t0:.0f}s)")
    ck = {"state": model.state_dict(), "test_accuracy": acc, "feat": model.feat}
    os.makedirs(WORK_DIR, exist_ok=True)
    torch.save(ck, path)
    return ck


if __name__ == "__main__":
    train_classifier()
