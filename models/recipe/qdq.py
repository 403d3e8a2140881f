"""QDQ int8 graphs from the fp32 ONNX files, with the `onnx` package only (no onnxruntime in Python).

Each quantized Conv becomes DQ(x) , DQ(w) , DQ(b) -> Conv -> Q -> DQ, the pattern onnxruntime's
QDQ transformer fuses into one QLinearConv (u8 activations, s8 weights, i32 accumulation):
- weights: per output channel, symmetric int8 (zero point 0), scale = max|w_c| / 127;
- bias: int32 with scale x_scale * w_scale[c] (zero point 0), as QLinearConv wants it;
- activations (the Conv's input and its output): per tensor, asymmetric uint8 over a calibrated
  range [lo, hi] that always contains 0 (so zero padding is exact).
Ranges come from calibration.py, keyed by the torch module name ('blocks.3.conv1'); `module_of`
maps a Conv's weight initializer name in a given file back to that name. Nodes are appended and
the graph re-sorted. `commute_upsample_pointwise` (an exact rewrite applied before quantizing) and
the uint8 pass-through of resizes keep onnxruntime from dequantizing between two int8 convs;
`derived_from` is the check that an int8 file is its fp32 namesake quantized.
Measured (weight_qparams bits=7, onnxruntime's reduce_range for AVX2 without VNNI): same error and
speed as 8 bits on this model, so 8 bits are used.
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper


PASS_THROUGH = ("Resize", "MaxPool", "Reshape", "Transpose")


def module_of(weight_name, file_stem):
    """ONNX weight initializer name -> torch module name, per exported file:
    full.onnx 'model.blocks.0.conv1.weight', block_03.onnx 'blk.conv1.weight',
    embed.onnx 'stem2.weight', head.onnx 'proj.weight'."""
    base = weight_name[:-len(".weight")] if weight_name.endswith(".weight") else weight_name
    if file_stem == "full":
        return base[len("model."):] if base.startswith("model.") else base
    if file_stem.startswith("block_"):
        return f"blocks.{int(file_stem[len('block_'):])}." + base[len("blk."):]
    return f"{file_stem}.{base}"


def activation_qparams(lo, hi):
    """uint8 asymmetric: (scale, zero_point) with 0 exactly representable."""
    lo, hi = min(0.0, float(lo)), max(0.0, float(hi))
    scale = max(hi - lo, 1e-8) / 255.0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zp)


def weight_qparams(w, bits=8):
    """Per output channel symmetric: (int8 weights, float32 scales [O]). bits=7 keeps |q| <= 63
    (onnxruntime's reduce_range: no int16 saturation in AVX2's u8*s8 multiply-add pairs)."""
    qmax = 2 ** (bits - 1) - 1
    flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale = np.where(flat > 0, flat / qmax, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale.reshape(-1, *([1] * (w.ndim - 1)))), -qmax, qmax).astype(np.int8)
    return q, scale


class _Graph:
    def __init__(self, model):
        self.g = model.graph
        self.inits = {i.name: i for i in self.g.initializer}
        self.qdq_of = {}  # activation tensor -> its dequantized name

    def add_init(self, name, array):
        self.g.initializer.append(numpy_helper.from_array(array, name))
        return name

    def qdq_activation(self, tensor, scale, zp):
        """Q -> DQ of `tensor` once (shared by all quantized consumers); returns the DQ output name."""
        if tensor in self.qdq_of:
            return self.qdq_of[tensor]
        s = self.add_init(f"{tensor}_scale", np.array(scale, np.float32))
        z = self.add_init(f"{tensor}_zero_point", np.array(zp, np.uint8))
        q, dq = f"{tensor}_quantized", f"{tensor}_dequantized"
        self.g.node.append(helper.make_node("QuantizeLinear", [tensor, s, z], [q], name=f"{tensor}_QuantizeLinear"))
        self.g.node.append(helper.make_node("DequantizeLinear", [q, s, z], [dq], name=f"{tensor}_DequantizeLinear"))
        self.qdq_of[tensor] = dq
        return dq


def quantize_convs(model, ranges, file_stem, keep_fp32=(), weight_bits=8):
    """Returns (a new ModelProto with QDQ around every Conv whose module has a calibrated range and
    is not in keep_fp32, the list of quantized module names). The graph is re-sorted topologically."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    gr = _Graph(model)
    done = []
    ranges_by_tensor = {}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    for node in convs:
        module = module_of(node.input[1], file_stem)
        if module not in ranges or module in keep_fp32:
            continue
        r = ranges[module]
        # one range per tensor: a tensor read by two quantized convs (x in full.onnx) takes the union
        lo, hi = ranges_by_tensor.get(node.input[0], (r["in"][0], r["in"][1]))
        ranges_by_tensor[node.input[0]] = (min(lo, r["in"][0]), max(hi, r["in"][1]))
    # A nearest Resize between two quantized convs (the blocks' upsample) moves values without
    # changing them: giving its input and output the same scale lets onnxruntime run it on uint8
    # (it drops DQ -> Resize -> Q) instead of dequantizing, resizing floats and quantizing again.
    producer = {o: n for n in model.graph.node for o in n.output}
    quantized_out = {n.output[0]: module_of(n.input[1], file_stem) for n in convs
                     if module_of(n.input[1], file_stem) in ranges and module_of(n.input[1], file_stem) not in keep_fp32}
    for tensor in list(ranges_by_tensor):
        src = producer.get(tensor)
        if src is not None and src.op_type in PASS_THROUGH and src.input[0] in quantized_out:
            ranges_by_tensor[tensor] = tuple(ranges[quantized_out[src.input[0]]]["out"])
    for node in convs:
        module = module_of(node.input[1], file_stem)
        if module not in ranges or module in keep_fp32:
            continue
        r = ranges[module]
        if node.input[0] in quantized_out:
            # reads another quantized conv's output directly: its Q -> DQ pair serves both
            x_scale, x_zp = activation_qparams(*ranges[quantized_out[node.input[0]]]["out"])
            x_dq = node.input[0]
        else:
            x_scale, x_zp = activation_qparams(*ranges_by_tensor[node.input[0]])
            x_dq = gr.qdq_activation(node.input[0], x_scale, x_zp)
        w = numpy_helper.to_array(gr.inits[node.input[1]])
        wq, w_scale = weight_qparams(w, weight_bits)
        base = node.input[1]
        wq_name = gr.add_init(f"{base}_quantized", wq)
        ws_name = gr.add_init(f"{base}_scale", w_scale)
        wz_name = gr.add_init(f"{base}_zero_point", np.zeros(w.shape[0], np.int8))
        w_dq = f"{base}_dequantized"
        model.graph.node.append(helper.make_node("DequantizeLinear", [wq_name, ws_name, wz_name], [w_dq], axis=0,
                                                 name=f"{base}_DequantizeLinear"))
        inputs = [x_dq, w_dq]
        if len(node.input) > 2 and node.input[2]:
            b = numpy_helper.to_array(gr.inits[node.input[2]])
            b_scale = (x_scale * w_scale).astype(np.float32)
            bq = np.round(b / b_scale).astype(np.int32)
            bname = node.input[2]
            bq_name = gr.add_init(f"{bname}_quantized", bq)
            bs_name = gr.add_init(f"{bname}_scale", b_scale)
            bz_name = gr.add_init(f"{bname}_zero_point", np.zeros(len(bq), np.int32))
            b_dq = f"{bname}_dequantized"
            model.graph.node.append(helper.make_node("DequantizeLinear", [bq_name, bs_name, bz_name], [b_dq], axis=0,
                                                     name=f"{bname}_DequantizeLinear"))
            inputs.append(b_dq)
        # the Conv now writes y_prequant; Q -> DQ gives back the original name y
        y = node.output[0]
        y_pre = f"{y}_prequant"
        del node.input[:]
        node.input.extend(inputs)
        node.output[0] = y_pre
        y_scale, y_zp = activation_qparams(*r["out"])
        s = gr.add_init(f"{y}_scale", np.array(y_scale, np.float32))
        z = gr.add_init(f"{y}_zero_point", np.array(y_zp, np.uint8))
        model.graph.node.append(helper.make_node("QuantizeLinear", [y_pre, s, z], [f"{y}_quantized"], name=f"{y}_QuantizeLinear"))
        model.graph.node.append(helper.make_node("DequantizeLinear", [f"{y}_quantized", s, z], [y], name=f"{y}_DequantizeLinear"))
        done.append(module)
    # A pass-through op reading a quantized conv's output (the Resize after a commuted 1x1 conv)
    # gets a Q -> DQ pair with the same scale after it, so onnxruntime runs it on uint8 too.
    for node in list(model.graph.node):
        if node.op_type in PASS_THROUGH and node.input[0] in quantized_out and node.output[0] not in gr.qdq_of:
            y_scale, y_zp = activation_qparams(*ranges[quantized_out[node.input[0]]]["out"])
            y, y_pre = node.output[0], f"{node.output[0]}_prequant"
            node.output[0] = y_pre
            s = gr.add_init(f"{y}_scale", np.array(y_scale, np.float32))
            z = gr.add_init(f"{y}_zero_point", np.array(y_zp, np.uint8))
            model.graph.node.append(helper.make_node("QuantizeLinear", [y_pre, s, z], [f"{y}_quantized"], name=f"{y}_QuantizeLinear"))
            model.graph.node.append(helper.make_node("DequantizeLinear", [f"{y}_quantized", s, z], [y], name=f"{y}_DequantizeLinear"))
    # Shape of a quantized conv's output (GroupNorm's export reads it back) is the shape of the
    # uint8 tensor: reading that spares a second DequantizeLinear of the whole output.
    for node in model.graph.node:
        if node.op_type == "Shape" and node.input[0] in quantized_out:
            node.input[0] = f"{node.input[0]}_quantized"
    # the old fp32 weights and biases of quantized convs are unused now
    used = {i for n in model.graph.node for i in n.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    _toposort(model.graph)
    onnx.checker.check_model(model)
    return model, done


def _toposort(graph):
    produced = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        rest = []
        for node in pending:
            if all(i in produced for i in node.input):
                ordered.append(node)
                produced.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise SystemExit("QDQ graph has a cycle or a missing input: " + ", ".join(n.name for n in rest[:5]))
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def derived_from(src_model, q_model):
    """Checks that q_model is src_model's graph quantized by quantize_convs: every fp32 initializer of
    the source is either in q_model unchanged or replaced by its quantized form (`<name>_quantized`
    with `<name>_scale`), whose dequantized values lie within half a step of the fp32 values. Returns
    (problems, number of quantized tensors); a stale int8 file (the fp32 model was re-exported) fails."""
    src = {i.name: numpy_helper.to_array(i) for i in src_model.graph.initializer}
    q = {i.name: numpy_helper.to_array(i) for i in q_model.graph.initializer}
    problems, quantized = [], 0
    for name, w in src.items():
        if name in q:
            if q[name].shape != w.shape or not np.array_equal(q[name], w):
                problems.append(f"{name} differs from the fp32 file")
            continue
        if f"{name}_quantized" not in q:
            problems.append(f"{name} is missing")
            continue
        values, scale = q[f"{name}_quantized"].astype(np.float64), q[f"{name}_scale"].astype(np.float64)
        step = scale.reshape(-1, *([1] * (w.ndim - 1))) if scale.ndim else scale
        worst = float(np.max(np.abs(values * step - w) / step))
        if worst > 0.5 + 1e-3:
            problems.append(f"{name}: dequantized weights are {worst:.2f} steps from the fp32 ones")
        quantized += 1
    return problems, quantized


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def commute_upsample_pointwise(model):
    """Rewrites Resize(nearest, x2) -> Conv(1x1) as Conv(1x1) -> Resize: exact (a pointwise conv
    commutes with repeating pixels, bias included), 4x fewer multiply-adds for that conv, and the
    resize moves the conv's 64 output channels instead of its 96 inputs. Returns the count."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    inits = {i.name: i for i in model.graph.initializer}
    done = 0
    for resize in [n for n in model.graph.node if n.op_type == "Resize"]:
        a = _attrs(resize)
        after = consumers.get(resize.output[0], [])
        if a.get("mode", b"nearest") != b"nearest" or len(after) != 1 or after[0].op_type != "Conv":
            continue
        conv = after[0]
        w = inits.get(conv.input[1])
        ca = _attrs(conv)
        if w is None or tuple(w.dims[2:]) != (1, 1) or ca.get("group", 1) != 1 \
                or any(v != 1 for v in list(ca.get("strides", [])) + list(ca.get("dilations", []))) or any(ca.get("pads", [])):
            continue
        x, up, y = resize.input[0], resize.output[0], conv.output[0]
        conv.input[0] = x
        conv.output[0] = up  # the conv now writes the small tensor ...
        resize.input[0] = up
        resize.output[0] = y  # ... and the resize the tensor the rest of the graph reads
        done += 1
    _toposort(model.graph)
    return done
