"""Shared pieces of the fmnist recipe: data, noise schedule, networks, FLOP counter, sampler, FD."""
import gzip
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

RECIPE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(RECIPE_DIR, "..", ".."))
WORK_DIR = os.path.join(RECIPE_DIR, "work")
OUT_DIR = os.path.join(REPO_ROOT, "models", "fmnist")
# Debian package dataset-fashion-mnist; FMNIST_DATA_DIR points elsewhere (e.g. a copy carried to a GPU machine)
DATA_DIR = os.environ.get("FMNIST_DATA_DIR", "/usr/share/datasets/fashion-mnist")

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NULL_CLASS = 10

# ---------------------------------------------------------------- data

def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    """Returns (images float32 [N,1,28,28] in [-1,1], labels int64 [N]). split: 'train' | 'test'."""
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y

# ---------------------------------------------------------------- schedule

SCHEDULE = {"kind": "cosine", "trainSteps": 1000, "s": 0.008,
            "minAlphaCumprod": 1e-5, "maxAlphaCumprod": 0.99999}


def alpha_cumprod(t):
    """abar(t) for continuous t in [0, 1000]; t: tensor (any shape)."""
    s = SCHEDULE["s"]
    T = SCHEDULE["trainSteps"]
    f = torch.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    return (f / f0).clamp(SCHEDULE["minAlphaCumprod"], SCHEDULE["maxAlphaCumprod"])

# ---------------------------------------------------------------- diffusion network

ARCH = {"C": 64, "E": 256, "blocks": 10, "inner": 96, "stem": 32, "groups": 8, "tdim": 64}


def gn(ch, groups):
    return nn.GroupNorm(groups, ch)


class Embed(nn.Module):
    """(x, t, label) -> (h [B,C,14,14], emb [B,E])."""

    def __init__(self, a):
        super().__init__()
        half = a["tdim"] // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)
        self.time_mlp = nn.Sequential(nn.Linear(a["tdim"], a["E"]), nn.SiLU(), nn.Linear(a["E"], a["E"]))
        self.label_emb = nn.Embedding(11, a["E"])
        self.stem1 = nn.Conv2d(1, a["stem"], 3, padding=1)
        self.stem2 = nn.Conv2d(a["stem"], a["C"], 3, stride=2, padding=1)

    def forward(self, x, t, label):
        arg = t.unsqueeze(1) * self.freqs.unsqueeze(0)
        temb = torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)
        emb = self.time_mlp(temb) + self.label_emb(label)
        h = self.stem2(F.silu(self.stem1(x)))
        return h, emb


class Block(nn.Module):
    """h_out = h + f(h, emb); f has a 14x14 conv, a 7x7 inner path, and a zero-initialised output conv."""

    def __init__(self, a):
        super().__init__()
        C, I, g = a["C"], a["inner"], a["groups"]
        self.film = nn.Linear(a["E"], 2 * C + 2 * I)
        self.norm1 = gn(C, g)
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.norm2 = gn(C, g)
        self.down = nn.Conv2d(C, I, 3, stride=2, padding=1)
        self.norm3 = gn(I, g)
        self.conv_inner = nn.Conv2d(I, I, 3, padding=1)
        self.up = nn.Conv2d(I, C, 1)
        self.norm4 = gn(C, g)
        self.conv_out = nn.Conv2d(C, C, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        self.C, self.I = C, I

    def forward(self, h, emb):
        C, I = self.C, self.I
        film = self.film(F.silu(emb))
        s1, b1 = film[:, :C, None, None], film[:, C:2 * C, None, None]
        s2, b2 = film[:, 2 * C:2 * C + I, None, None], film[:, 2 * C + I:, None, None]
        a = self.conv1(F.silu(self.norm1(h)))
        a = self.norm2(a) * (1 + s1) + b1
        d = self.down(F.silu(a))
        d = self.norm3(d) * (1 + s2) + b2
        d = self.conv_inner(F.silu(d))
        d = F.interpolate(d, scale_factor=2.0, mode="nearest")
        a = a + self.up(d)
        return h + self.conv_out(F.silu(self.norm4(a)))

    def delta(self, h, emb):
        return self.forward(h, emb) - h


class Head(nn.Module):
    """(h, emb, x) -> v prediction [B,1,28,28]; x enters through a long skip at full resolution."""

    def __init__(self, a):
        super().__init__()
        C, S, g = a["C"], a["stem"], a["groups"]
        self.norm = gn(C, g)
        self.proj = nn.Conv2d(C, S, 1)
        self.xconv = nn.Conv2d(1, S, 3, padding=1)
        self.film = nn.Linear(a["E"], 2 * S)
        self.norm2 = gn(S, g)
        self.conv = nn.Conv2d(S, S, 3, padding=1)
        self.out = nn.Conv2d(S, 1, 3, padding=1)
        self.S = S

    def forward(self, h, emb, x):
        S = self.S
        film = self.film(F.silu(emb))
        u = F.interpolate(self.proj(F.silu(self.norm(h))), scale_factor=2.0, mode="nearest")
        u = u + self.xconv(x)
        u = self.norm2(u) * (1 + film[:, :S, None, None]) + film[:, S:, None, None]
        u = self.conv(F.silu(u))
        return self.out(F.silu(u))


class Denoiser(nn.Module):
    def __init__(self, a=ARCH):
        super().__init__()
        self.arch = dict(a)
        self.embed = Embed(a)
        self.blocks = nn.ModuleList([Block(a) for _ in range(a["blocks"])])
        self.head = Head(a)

    def forward(self, x, t, label, drop_prob=0.0, keep=None):
        """drop_prob: per-sample stochastic depth (training). keep: optional list of bools per block."""
        h, emb = self.embed(x, t, label)
        for i, blk in enumerate(self.blocks):
            if keep is not None and not keep[i]:
                continue
            if drop_prob > 0:
                mask = (torch.rand(h.shape[0], 1, 1, 1, device=h.device) >= drop_prob).float()
                h = h + mask * blk.delta(h, emb)
            else:
                h = blk(h, emb)
        return self.head(h, emb, x)


class FullChain(nn.Module):
    """Export wrapper: the whole chain, no stochastic depth."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, t, label):
        return self.model(x, t, label)

# ---------------------------------------------------------------- classifier

class Classifier(nn.Module):
    def __init__(self, feat=128):
        super().__init__()

        def cbr(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.body = nn.Sequential(*cbr(1, 32), *cbr(32, 32), nn.MaxPool2d(2),
                                  *cbr(32, 64), *cbr(64, 64), nn.MaxPool2d(2),
                                  *cbr(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(128, feat), nn.BatchNorm1d(feat), nn.ReLU())
        self.drop = nn.Dropout(0.3)
        self.logits = nn.Linear(feat, 10)
        self.feat = feat

    def forward(self, image):
        features = self.fc(self.body(image))
        return self.logits(self.drop(features)), features

# ---------------------------------------------------------------- FLOPs

def count_flops(module, *inputs):
    """2 x multiply-adds of Conv/Linear layers for one sample (inputs must have batch 1)."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.weight.shape[2] * m.weight.shape[3] * (m.in_channels // m.groups)
        total[0] += 2 * out.numel() * k

    def lin_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = []
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        module(*inputs)
    for h in hooks:
        h.remove()
    return int(total[0])

# ---------------------------------------------------------------- sampling

@torch.no_grad()
def ddim_sample(model, labels, steps=50, cfg=2.0, seed=0, batch=500):
    """Deterministic DDIM (eta=0) with v-prediction and classifier-free guidance."""
    model.eval()
    outs = []
    g = torch.Generator().manual_seed(seed)
    for start in range(0, len(labels), batch):
        y = labels[start:start + batch]
        B = len(y)
        x = torch.randn(B, 1, 28, 28, generator=g)
        ts = torch.linspace(999.0, 0.0, steps + 1)
        null = torch.full_like(y, NULL_CLASS)
        for i in range(steps):
            t, t_next = ts[i], ts[i + 1]
            tt = torch.full((B,), float(t))
            if cfg == 1.0:
                v = model(x, tt, y)
            else:
                vv = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null]))
                vc, vu = vv[:B], vv[B:]
                v = vu + cfg * (vc - vu)
            a = alpha_cumprod(t)
            x0 = (a.sqrt() * x - (1 - a).sqrt() * v).clamp(-1, 1)
            eps = ((1 - a).sqrt() * x + a.sqrt() * v)
            if i == steps - 1:
                x = x0
            else:
                # eps re-derived from the clipped x0 keeps the trajectory consistent
                eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
                an = alpha_cumprod(t_next)
                x = an.sqrt() * x0 + (1 - an).sqrt() * eps
        outs.append(x)
    return torch.cat(outs)

# ---------------------------------------------------------------- Frechet distance

def frechet(mu1, cov1, mu2, cov2):
    """FD between Gaussians, float64 numpy; tr sqrt(C1 C2) via the eigenvalues of sqrt(C1) C2 sqrt(C1)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    w, V = np.linalg.eigh(cov1)
    s1 = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    m = s1 @ cov2 @ s1
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = np.sqrt(np.clip(ev, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)


def feature_stats(feats):
    f = np.asarray(feats, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


# Sample sizes the FD floor is reported at (real training images against the test split).
FD_SIZES = [256, 1000, 2000, 5000]


def fd_floor(train_features, mu, cov, log, label="FD floor"):
    """FD of n real training images' features against the test statistics, mean of 3 draws per n in FD_SIZES."""
    floor = {}
    for n in FD_SIZES:
        vals = []
        for draw in range(3):
            idx = np.random.default_rng(100 * n + draw).choice(len(train_features), n, replace=False)
            m2, c2 = feature_stats(train_features[idx])
            vals.append(frechet(m2, c2, mu, cov))
        floor[str(n)] = round(float(np.mean(vals)), 4)
        log(f"{label} real(train, n={n}) vs test: {floor[str(n)]:.4f} (draws {[round(v, 3) for v in vals]})")
    return floor
