"""Loads a shipped model directory (full.onnx, classifier.onnx, model.json) back into the torch networks.

Used by `build.py --init-from DIR` (fine-tune the shipped weights) and `evaluate.py --model-dir DIR`
(score any exported model with the same code). The mapping is name-based:

- full.onnx keeps torch's parameter names for every Conv/Gemm/Gather weight (`model.<param>`).
- GroupNorm is exported as Reshape + InstanceNormalization + Mul(gamma) + Add(beta); gamma and beta
  become anonymous initializers (`onnx::Mul_1480`, shape [C,1,1]). The Mul/Add node's output name
  carries the module scope (`/model/blocks.0/norm1/Mul_output_0`), which gives `blocks.0.norm1.weight`
  / `.bias`.
- classifier.onnx has each Conv+BatchNorm2d pair folded into one Conv with a bias (anonymous
  initializers); the fused Conv node is named after the conv (`/body/body.0/Conv`), its BatchNorm is
  the next module (`body.1`). The folded weight goes into the conv and the BatchNorm becomes an
  affine identity plus the folded bias (weight 1, bias b, running mean 0, running var 1 - eps).

Every torch key must be filled exactly once and every initializer used; callers verify the loaded
networks against the ONNX files with onnxruntime-node (`export.verify_with_onnxruntime`).
"""
import json
import os

import onnx
import torch
from onnx import numpy_helper

from common import Classifier, Denoiser


def _initializers(model):
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}


def _scope(output_name):
    """'/model/blocks.0/norm1/Mul_output_0' -> 'model.blocks.0.norm1'."""
    parts = output_name.strip("/").split("/")
    return ".".join(parts[:-1])


def denoiser_state_from_onnx(model_dir, arch):
    m = onnx.load(os.path.join(model_dir, "full.onnx"))
    inits = _initializers(m)
    for node in m.graph.node:
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB", 0) != 1 or attrs.get("transA", 0) != 0:
                raise SystemExit(f"{node.name}: unexpected Gemm layout {attrs} (expected transB=1)")
    renamed = {}
    for node in m.graph.node:
        for name in node.input:
            if name in inits and name.startswith("onnx::"):
                if node.op_type == "Mul":
                    key = _scope(node.output[0]) + ".weight"
                elif node.op_type == "Add":
                    key = _scope(node.output[0]) + ".bias"
                else:
                    raise SystemExit(f"unmapped anonymous initializer {name} used by {node.op_type} {node.name}")
                if key in renamed:
                    raise SystemExit(f"two initializers map to {key}")
                renamed[key] = inits[name].reshape(-1)
    state = {}
    for name, val in inits.items():
        if not name.startswith("onnx::"):
            state[name] = val
    state.update(renamed)
    if not all(k.startswith("model.") for k in state):
        raise SystemExit("full.onnx: parameter outside the FullChain wrapper: "
                         + ", ".join(k for k in state if not k.startswith("model.")))
    state = {k[len("model."):]: v for k, v in state.items()}
    ref = Denoiser(arch).state_dict()
    extra = sorted(set(state) - set(ref))
    return _checked(state, ref, "full.onnx -> Denoiser", extra)


def _checked(state, ref, what, unused):
    """Every torch tensor filled with the right shape and no ONNX initializer left over, else exit naming them."""
    missing = sorted(set(ref) - set(state))
    if missing or unused:
        raise SystemExit(f"{what} mapping incomplete: missing {missing}, unused {unused}")
    for k, v in ref.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise SystemExit(f"{what} {k}: onnx shape {tuple(state[k].shape)} != torch {tuple(v.shape)}")
        state[k] = state[k].to(v.dtype).contiguous()
    return state


def load_denoiser_onnx(model_dir):
    """-> (Denoiser in eval mode, manifest dict)."""
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    from common import ARCH
    model = Denoiser(ARCH)
    model.load_state_dict(denoiser_state_from_onnx(model_dir, ARCH), strict=True)
    model.eval()
    return model, manifest


def load_classifier_onnx(model_dir):
    """-> (Classifier in eval mode, checkpoint-style dict {state, test_accuracy, feat, source})."""
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    m = onnx.load(os.path.join(model_dir, manifest["classifier"]["file"]))
    inits = _initializers(m)
    feat = int(inits["fc.0.weight"].shape[0])
    clf = Classifier(feat)
    ref = clf.state_dict()
    state, used = {}, set()
    for node in m.graph.node:
        if node.op_type != "Conv":
            continue
        w, b = node.input[1], node.input[2]
        scope = _scope(node.output[0])  # body.body.0 (Sequential 'body', module '0')
        idx = int(scope.split(".")[-1])
        conv, bn = f"body.{idx}", f"body.{idx + 1}"
        if not isinstance(clf.body[idx], torch.nn.Conv2d) or not isinstance(clf.body[idx + 1], torch.nn.BatchNorm2d):
            raise SystemExit(f"classifier.onnx: {node.name} does not map to a Conv2d+BatchNorm2d pair")
        eps = clf.body[idx + 1].eps
        state[f"{conv}.weight"] = inits[w]
        c = inits[b].shape[0]
        state[f"{bn}.weight"] = torch.ones(c)
        state[f"{bn}.bias"] = inits[b]
        state[f"{bn}.running_mean"] = torch.zeros(c)
        state[f"{bn}.running_var"] = torch.full((c,), 1.0 - eps)
        state[f"{bn}.num_batches_tracked"] = torch.tensor(0)
        used.update([w, b])
    for name, val in inits.items():
        if name in ref:
            state[name] = val
            used.add(name)
    if "fc.1.num_batches_tracked" in ref:
        state["fc.1.num_batches_tracked"] = torch.tensor(0)
    _checked(state, ref, "classifier.onnx -> Classifier", sorted(set(inits) - used))
    clf.load_state_dict(state, strict=True)
    clf.eval()
    return clf, {"state": clf.state_dict(), "test_accuracy": manifest["classifier"]["testAccuracy"],
                 "feat": feat, "source": os.path.join(model_dir, manifest["classifier"]["file"])}


def restore_classifier_ckpt(model_dir, path, log=print):
    """Writes work/classifier.pt from model_dir's classifier.onnx if it does not exist (so build.py
    does not train a new classifier, and FD figures keep using the shipped one)."""
    if os.path.exists(path):
        return False
    _, ck = load_classifier_onnx(model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(ck, path)
    log(f"classifier restored from {ck['source']} -> {path}")
    return True
