"""``export``: trace the model once, then translate its layers and the operations between them."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy

from chainrule.atomic import atomic_write
from chainrule.autograd.mode import enable_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError
from chainrule.nn.modes import evaluating
from chainrule.onnx import functions, keras_layers, keras_recurrent, layers, recurrent, torch_layers
from chainrule.onnx.graph import GraphBuilder

# layer class name -> translation; a subclass finds its nearest ancestor's
TRANSLATIONS = {
    "Linear": layers.linear, "Dense": layers.dense,
    "Conv1d": layers.conv, "Conv2d": layers.conv,
    "ConvTranspose1d": layers.conv_transpose, "ConvTranspose2d": layers.conv_transpose,
    "MaxPool1d": layers.pool, "MaxPool2d": layers.pool, "AvgPool1d": layers.pool, "AvgPool2d": layers.pool,
    "GlobalAvgPool2d": layers.global_avg_pool,
    "BatchNorm1d": layers.batch_norm, "BatchNorm2d": layers.batch_norm, "LayerNorm": layers.layer_norm,
    "Embedding": layers.embedding, "Flatten": layers.flatten, "Reshape": layers.reshape,
    "Identity": layers.identity, "Dropout": layers.identity,
    "ReLU": layers.activation, "Sigmoid": layers.activation, "Tanh": layers.activation,
    "LeakyReLU": layers.activation, "Softplus": layers.activation, "Softmax": layers.activation,
    "LogSoftmax": layers.activation, "Step": layers.activation,
    "ELU": torch_layers.elu, "SELU": torch_layers.selu, "GELU": torch_layers.gelu, "SiLU": torch_layers.silu,
    "Hardtanh": torch_layers.hardtanh, "PReLU": torch_layers.prelu, "Upsample": torch_layers.upsample,
    "AdaptiveAvgPool2d": torch_layers.adaptive_avg_pool, "GroupNorm": torch_layers.group_norm,
    "RNN": recurrent.recurrent, "LSTM": recurrent.recurrent, "GRU": recurrent.recurrent,
    # chainrule.keras's channels-last layers, looked up as "keras.<class>" (keras.LSTM is not nn's LSTM);
    # those not listed (Dense, Dropout, Flatten, Reshape, Embedding) are their engine class's
    "keras.Conv1D": keras_layers.conv, "keras.Conv2D": keras_layers.conv,
    "keras.Conv2DTranspose": keras_layers.conv_transpose,
    "keras.MaxPooling2D": keras_layers.pool, "keras.AveragePooling2D": keras_layers.pool,
    **{f"keras.Global{kind}Pooling{dims}D": keras_layers.global_pool for kind in ("Average", "Max")
       for dims in (1, 2)},
    "keras.BatchNormalization": keras_layers.batch_norm,
    "keras.Activation": keras_layers.activation, "keras.Add": keras_layers.add,
    "keras.Concatenate": keras_layers.concatenate,
    "keras.SimpleRNN": keras_recurrent.recurrent, "keras.LSTM": keras_recurrent.recurrent,
    "keras.GRU": keras_recurrent.recurrent, "keras.Bidirectional": keras_recurrent.recurrent,
}


@dataclass
class Call:
    """One call of a layer during the trace."""

    module: object
    prefix: str  # "features.0." : the layer's state_dict prefix
    args: tuple
    output: object
    batch: int
    dtype: object

    def describe(self):
        name = self.prefix[:-1] or "the model"
        return f"layer '{name}' ({type(self.module).__name__})"


def export(model, path=None, sample_input=None, opset=17, dynamic_batch=True, *, args=None, f=None,
           opset_version=None, input_names=None, output_names=None, dynamic_axes=None, export_params=True,
           verbose=None, do_constant_folding=True, dynamo=None):
    """Write ``model`` as an ONNX file at ``path``; returns the path.

    Args:
        model: a Module (Sequential, ``cr.Model``, one with its own ``forward``, a ``keras.Sequential``
            or functional ``keras.Model``) of layers ONNX can express; anything else fails with an
            error naming the layer.
        sample_input: one batch the model accepts (array or Tensor); it fixes every axis but the batch.
        opset: the ONNX operator set (17, the first with LayerNormalization, or newer).
        dynamic_batch: leave the batch axis free ("batch") instead of the sample's size.

    PyTorch's call runs as it is: ``export(model, (x,), "model.onnx", input_names=["input"],
    output_names=["output"], opset_version=17, dynamic_axes={"input": {0: "batch_size"}, ...})``
    (the sample before the path, as a tuple or alone; ``args=``/``f=``). The graph's input and outputs
    are then named as asked ("input" and "output" otherwise), and with ``dynamic_axes`` the batch axis
    is free under the name given there; only the batch axis (0) can be. ``verbose``,
    ``do_constant_folding`` and ``dynamo`` change nothing here: there is one exporter, and it writes the
    graph as traced.
    """
    path, sample_input = _arguments(path, sample_input, args, f)
    if opset_version is not None:
        opset = opset_version
    if not export_params:
        raise ChainruleError("onnx.export: export_params=False (weights as graph inputs) is not supported; "
                             "the file always carries the weights: leave export_params out")
    input_name, output_labels = _graph_names(input_names, output_names)
    batch_label = "batch"
    if dynamic_axes is not None:
        dynamic_batch, batch_label = _batch_axis(dynamic_axes)
    onnx = _onnx()
    if not 17 <= opset <= onnx.defs.onnx_opset_version():
        raise ChainruleError(f"onnx.export: opset {opset} is not supported: choose one from 17 to "
                             f"{onnx.defs.onnx_opset_version()} (this onnx's newest)")
    sample = numpy.asarray(sample_input._data if isinstance(sample_input, Tensor) else sample_input)
    if sample.ndim == 0:
        raise ChainruleError("onnx.export: sample_input must be a batch (N, ...), got a scalar")
    model_proto = to_model(onnx, model, sample, opset, dynamic_batch, input_name, output_labels, batch_label)
    onnx.checker.check_model(model_proto)
    path = Path(path)
    atomic_write(path, lambda handle: handle.write(model_proto.SerializeToString()))
    return path


def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def _arguments(path, sample_input, args, f):
    """(path, sample batch) from chainrule's order (path, sample) or PyTorch's (args, f)."""
    if path is not None and not _is_path(path) and (sample_input is None or _is_path(sample_input)):
        path, sample_input = sample_input, path  # PyTorch's export(model, args, f)
    if args is not None:
        if sample_input is not None:
            raise ChainruleError("onnx.export: the sample batch was given twice (args= and positionally)")
        sample_input = args
    if f is not None:
        if path is not None:
            raise ChainruleError("onnx.export: the file was given twice (f= and positionally)")
        path = f
    if path is None or not _is_path(path):
        raise ChainruleError(f"onnx.export: where to write the file? got {type(path).__name__}; pass a "
                             "path: cr.onnx.export(model, 'model.onnx', x), or in PyTorch's order "
                             "(model, (x,), 'model.onnx')")
    if sample_input is None:
        raise ChainruleError("onnx.export: a sample batch is needed to trace the model: "
                             "cr.onnx.export(model, 'model.onnx', x)")
    if isinstance(sample_input, tuple) and sample_input and all(
            isinstance(item, (Tensor, numpy.ndarray)) for item in sample_input):
        if len(sample_input) > 1:  # PyTorch's args: one entry per input of forward
            raise ChainruleError(f"onnx.export: the model gets {len(sample_input)} inputs in args; the "
                                 "export takes models of one input")
        sample_input = sample_input[0]
    return path, sample_input


def _graph_names(input_names, output_names):
    """(input name, output names or None) from PyTorch's ``input_names``/``output_names``."""
    if isinstance(input_names, str) or isinstance(output_names, str):
        raise ChainruleError("onnx.export: input_names and output_names are lists of names, e.g. ['input']")
    input_name = "input"
    if input_names is not None:
        if len(input_names) != 1:
            raise ChainruleError(f"onnx.export: input_names has {len(input_names)} names; the export takes "
                                 "models of one input, so give one")
        input_name = input_names[0]
    return input_name, None if output_names is None else list(output_names)


def _batch_axis(dynamic_axes):
    """(dynamic batch, its name) from PyTorch's ``dynamic_axes``: only axis 0 may be named."""
    label = None
    for name, axes in dynamic_axes.items():
        named = dict(axes) if isinstance(axes, dict) else {axis: None for axis in axes}
        if set(named) - {0}:
            raise ChainruleError(f"onnx.export: dynamic_axes asks for axes {sorted(named)} of '{name}'; only "
                                 "the batch axis (0) can be dynamic here: {'" + name + "': {0: 'batch'}}")
        label = label or named.get(0)
    return bool(dynamic_axes), label or "batch"


def export_file(model, path, opset=17):
    """``export`` on a sample batch made from the model's ``input_spec``: ``chainrule export``."""
    spec = getattr(model, "input_spec", None)
    if not spec or any(n is None for n in spec["shape"][1:]):
        raise ChainruleError(f"onnx.export: {type(model).__name__} does not record the shape of its inputs "
                             "(input_spec); call cr.onnx.export(model, path, sample_input) with a batch")
    # three samples: a batch size less likely than 1 to equal another axis of the model
    sample = numpy.zeros((3, *spec["shape"][1:]), dtype=spec["dtype"])
    return export(model, path, sample, opset=opset)


def to_model(onnx, model, sample, opset, dynamic_batch, input_name="input", output_names=None,
             batch_label="batch"):
    """The ONNX ModelProto of ``model`` traced on ``sample``; its input and outputs named as given
    ("input", and "output" or "output_0", "output_1", ... by default)."""
    calls, output, x = _trace(model, sample)
    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), sample.dtype)
    g = GraphBuilder(onnx, opset)
    names = {id(x): input_name}
    g.fresh(input_name)
    known = {id(t): name for name, t in [*model.named_parameters(), *model.named_buffers()] if t is not None}
    walker = _Walker(g, calls, names, known, len(sample), dtype)
    outputs = _tensors(output)  # nested tuples (an LSTM's (out, (h, c))) in depth-first order
    if not outputs:
        raise ChainruleError(f"onnx.export: the model returned {type(output).__name__}; export a model "
                             "that returns a tensor (or a tuple of tensors)")
    if output_names is not None and len(output_names) != len(outputs):
        raise ChainruleError(f"onnx.export: output_names has {len(output_names)} names and the model "
                             f"returns {len(outputs)} tensors; give one name each")
    graph_outputs = []
    for index, tensor in enumerate(outputs):
        label = "output" if len(outputs) == 1 else f"output_{index}"
        label = label if output_names is None else output_names[index]
        if g.fresh(label) != label:
            raise ChainruleError(f"onnx.export: the output name '{label}' is taken already (by the input or "
                                 "a parameter); choose another in output_names")
        g.nodes.append(onnx.helper.make_node("Identity", [walker.name(tensor)], [label]))
        graph_outputs.append(_value_info(onnx, label, tensor, len(sample), dynamic_batch, batch_label))
    graph_input = _value_info(onnx, input_name, x, len(sample), dynamic_batch, batch_label)
    graph = onnx.helper.make_graph(g.nodes, type(model).__name__, [graph_input], graph_outputs,
                                   initializer=g.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    # pinned to the oldest IR that carries this opset: onnxruntime refuses IRs newer than it knows
    return onnx.helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                  ir_version=onnx.helper.find_min_ir_version_for(opsets))


class _Walker:
    """Names the ONNX value of each tensor, translating what produced it first (depth first)."""

    def __init__(self, g, calls, names, known, batch, dtype):
        self.g, self.calls, self.names, self.known = g, calls, names, known
        self.batch, self.dtype = batch, dtype

    def name(self, tensor):
        key = id(tensor)
        if key in self.names:
            return self.names[key]
        if key in self.calls:
            self._layer(self.calls[key])
        elif key in self.known:
            self.names[key] = self.g.constant(numpy.asarray(tensor._data), self.known[key])
        elif getattr(tensor, "_node", None) is not None:
            op = tensor._node
            inputs = [self.name(t) if isinstance(t, Tensor) else self._constant(t) for t in op.inputs]
            self.names[key] = functions.convert(self.g, op, inputs, tensor, self.batch)
        else:  # a tensor made outside the graph (a mask, a constant table): baked in
            self.names[key] = self.g.constant(numpy.asarray(tensor._data), "const")
        return self.names[key]

    def _constant(self, value):
        value = numpy.asarray(value)
        return self.g.constant(value.astype(self.dtype) if value.dtype.kind in "fiub" else value)

    def _layer(self, call):
        translate = _translation(call)
        inputs = [self.name(a) for a in _tensors(call.args)]  # a merge layer's list too
        call.dtype = self.dtype
        result = translate(self.g, call.module, inputs, call)
        for tensor, name in zip(_tensors(call.output), _names(result)):
            self.names.setdefault(id(tensor), name)


def _key(cls):
    return f"keras.{cls.__name__}" if cls.__module__.startswith("chainrule.keras.") else cls.__name__


def _translation(call):
    for cls in type(call.module).__mro__:
        if _key(cls) in TRANSLATIONS:
            return TRANSLATIONS[_key(cls)]
    raise ChainruleError(f"onnx.export: {call.describe()} has no ONNX translation; exportable layers are "
                         f"{', '.join(sorted(TRANSLATIONS))}")


def _translated_whole(module):
    """A layer traced as one call: one without children, or one translated whole (Bidirectional)."""
    return not any(True for _ in module.children()) or _key(type(module)) in TRANSLATIONS


def _trace(model, sample):
    """Run the model once, recording each leaf layer's call by the identity of its output tensors."""
    x = Tensor(sample, requires_grad=sample.dtype.kind == "f")
    calls, handles = {}, []
    keep = []  # holds every traced tensor, so that no id is reused during the walk

    def record(prefix):
        def hook(module, args, output):
            call = Call(module, prefix, args, output, len(sample), None)
            keep.append(call)
            arguments = {id(a) for a in _tensors(args)}
            for tensor in _tensors(output):
                if id(tensor) not in arguments:  # Dropout in eval mode returns its input itself
                    calls[id(tensor)] = call
        return hook

    for prefix, module in model.named_modules():
        if _translated_whole(module):
            handles.append(module.register_forward_hook(record(prefix + "." if prefix else "")))
    # an inplace=True layer returns its input object, which the hook would take for an identity
    in_place = [module for module in model.modules() if getattr(module, "inplace", False)]
    try:
        for module in in_place:
            module.inplace = False
        with evaluating(model), enable_grad():
            output = model(x)
    finally:
        for module in in_place:
            module.inplace = True
        for handle in handles:
            handle.remove()
    return calls, output, x


def _tensors(value):
    """The tensors of a nested output ((out, (h, c))), depth first."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _names(value):
    if isinstance(value, str):
        return [value]
    return [n for item in value for n in _names(item)]


def _value_info(onnx, label, tensor, batch, dynamic_batch, batch_label="batch"):
    shape = list(tensor.shape)
    if dynamic_batch and shape and shape[0] == batch:
        shape[0] = batch_label
    elif dynamic_batch and shape:
        shape[0] = None  # the batch merged into this axis (N·T rows)
    element = onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(tensor.dtype))
    return onnx.helper.make_tensor_value_info(label, element, shape)


def _onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ModuleNotFoundError:
        raise ChainruleError('exporting to ONNX needs the onnx package: pip install "chainrule[onnx]"') \
            from None
    return onnx
