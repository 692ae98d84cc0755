"""``model.summary()``: Keras's table, filled in by one dry forward pass.

Each listed layer's ``forward`` is wrapped for the pass (an instance attribute shadowing the
method, removed afterwards), so the table shows the shapes the layers really produce, including
those of lazy layers that build themselves during the pass. A layer called twice shows each
distinct shape it produced; the table never says "multiple".

    Model: "sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     dense (Dense)               (None, 512)               401920
    ...
    =================================================================
    Total params: 669,706
    Trainable params: 669,706
    Non-trainable params: 0
    _________________________________________________________________
"""

import re
import sys
import textwrap

import numpy

from chainrule import backend
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError
from chainrule.io.model_file import forward_on_zeros


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def listed_layers(model):
    """The (name, layer) rows of the table: the top-level layers (of the wrapped module for Model(m))."""
    from chainrule.train.model import Model

    wraps = type(model) is Model and "module" in model._modules
    top = model._modules["module"] if wraps else model
    children = list(top.named_children())
    if not children:
        return [(getattr(top, "name", None) or _snake(type(top).__name__), top)]
    return [(getattr(child, "name", None) or f"{name}", child) for name, child in children]


def _shape_text(output):
    if isinstance(output, Tensor) or hasattr(output, "shape"):
        return "(" + ", ".join(["None", *(str(s) for s in output.shape[1:])]) + ")" \
            if len(output.shape) > 1 else "(None,)"
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in output) + "]"
    return type(output).__name__


def count_weights(layer):
    """(total, trainable) over parameters and floating buffers (running statistics count, as in Keras)."""
    total = trainable = 0
    for p in layer.parameters():
        total += p.size
        trainable += p.size if p.requires_grad else 0
    for b in layer.buffers():
        data = b._data if isinstance(b, Tensor) else numpy.asarray(b)
        if backend.is_floating(data.dtype):
            total += data.size
    return int(total), int(trainable)


def dry_run(model, rows, input_shape):
    """Run one forward pass on zeros, recording each listed layer's output shapes."""
    if input_shape is not None:
        spec = {"shape": [None, *input_shape], "dtype": numpy.dtype(backend.DEFAULT_FLOAT).name}
    else:
        spec = model._known_input_spec()
    if spec is None:
        raise ChainruleError(f"{type(model).__name__}.summary: the input shape is unknown, so the dry "
                             "forward pass cannot run; hint: pass summary(input_shape=(...)) without the "
                             "batch axis, give the first layer input_shape=..., or call the model on data "
                             "first")
    shapes = {id(layer): [] for _, layer in rows}
    originals = []
    for _, layer in rows:
        if any(o is layer for o, _ in originals):
            continue

        def recording(*args, _layer=layer, _forward=layer.forward, **kwargs):
            output = _forward(*args, **kwargs)
            text = _shape_text(output)
            if text not in shapes[id(_layer)]:
                shapes[id(_layer)].append(text)
            return output

        originals.append((layer, layer.__dict__.get("forward")))  # an instance's own forward, if any
        object.__setattr__(layer, "forward", recording)
    try:
        forward_on_zeros(model, spec)
    finally:
        for layer, own_forward in originals:
            if own_forward is None:
                layer.__dict__.pop("forward", None)
            else:
                object.__setattr__(layer, "forward", own_forward)
    return shapes


def summary_text(model, input_shape=None, line_length=65):
    """The summary table as text (see the module docstring)."""
    rows = listed_layers(model)
    shapes = dry_run(model, rows, input_shape)
    positions = [int(line_length * f) for f in (0.45, 0.85, 1.0)]
    headers = ["Layer (type)", "Output Shape", "Param #"]

    def line(fields):
        # a field too wide for its column continues on the next lines of that column (as Keras 3 does),
        # so a recurrent layer's [(output), [(h), (c)]] is never cut off mid-shape
        starts = [0, *positions[:-1]]
        chunks = [_wrap(field, end - start - 1) for field, start, end in zip(fields, starts, positions)]
        rows = []
        for row in range(max(len(c) for c in chunks)):
            text = ""
            for column, end in zip(chunks, positions):
                field = column[row] if row < len(column) else ""
                text = (text + " " + field)[:end].ljust(end)  # Keras starts each field with a space
            rows.append(text.rstrip())
        return "\n".join(rows)

    title = getattr(model, "name", None) or _snake(type(model).__name__)
    lines = [f'Model: "{title}"', "_" * line_length, line(headers), "=" * line_length]
    for i, (name, layer) in enumerate(rows):
        shape = ", ".join(shapes[id(layer)]) or "(not called)"
        lines.append(line([f"{name} ({type(layer).__name__})", shape, str(count_weights(layer)[0])]))
        lines.append("" if i < len(rows) - 1 else "=" * line_length)
    total, trainable = count_weights(model)
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    return "\n".join(lines)


def _wrap(field, width):
    """Lines of at most ``width`` characters, broken between shapes, never inside one "(None, 64)"."""
    glued = re.sub(r"\([^()]*\)", lambda m: m.group(0).replace(" ", "\0"), field)
    return [line.replace("\0", " ") for line in textwrap.wrap(glued, width, break_on_hyphens=False)] or [""]


def write(text, print_fn=None):
    """Hand the text to ``print_fn`` (Keras's argument), else write it to standard output."""
    if print_fn is not None:
        print_fn(text)
    else:
        sys.stdout.write(text + "\n")
