"""The recorded graph of a result as Graphviz DOT text, and its picture when ``dot`` is installed.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> print(cr.explain.graph((x * x).sum()).splitlines()[0])
    digraph chainrule {

Each op the engine recorded is a box (its name and output shape); each leaf is an ellipse: a
parameter or buffer under its state_dict name when ``model`` is given, an input otherwise. Arrows
follow the data, from inputs to the result. The engine records a graph only where a gradient is
needed: build the output with grad enabled and trainable parameters (or inputs that require grad).
"""

import shutil
import subprocess
from pathlib import Path

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError

FORMATS = ("png", "svg", "pdf")


def graph(output, model=None):
    """DOT text of the graph that produced ``output`` (a Tensor, or a tuple of them).

    ``model``: a Module whose parameters and buffers are then labelled by their state_dict names.
    """
    outputs = [output] if isinstance(output, Tensor) else list(output)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise ChainruleError(f"explain.graph: expected a Tensor or tuple of Tensors, got "
                             f"{type(output).__name__}")
    names = {}
    if model is not None:
        names = {id(t): name for name, t in [*model.named_parameters(), *model.named_buffers()]
                 if t is not None}
    lines = ["digraph chainrule {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    ids, edges, seen_ops = {}, [], set()

    def node_id(key):
        ids.setdefault(key, f"n{len(ids)}")
        return ids[key]

    stack = []
    for index, tensor in enumerate(outputs):
        label = "output" if len(outputs) == 1 else f"output {index}"
        out = node_id(("out", index))
        lines.append(f'  {out} [label="{label}\\n{_shape(tensor)}", shape=plaintext];')
        stack.append((tensor, out))
    while stack:
        tensor, consumer = stack.pop()
        op = tensor._node
        if op is None or op.inputs is None:
            leaf = node_id(("leaf", id(tensor)))
            if ("leaf", id(tensor)) not in seen_ops:
                seen_ops.add(("leaf", id(tensor)))
                name = names.get(id(tensor), "input")
                colour = "lightyellow" if id(tensor) in names else "lightblue"
                lines.append(f'  {leaf} [label="{_escape(name)}\\n{_shape(tensor)}", shape=ellipse, '
                             f'style=filled, fillcolor={colour}];')
            edges.append((leaf, consumer))
            continue
        box = node_id(("op", id(op)))
        edges.append((box, consumer))
        if id(op) in seen_ops:
            continue
        seen_ops.add(id(op))
        lines.append(f'  {box} [label="{_escape(op.label)}\\n{_shape(tensor)}", shape=box, style=rounded];')
        for parent in op.inputs:
            if isinstance(parent, Tensor):
                stack.append((parent, box))
    lines.extend(f"  {a} -> {b};" for a, b in dict.fromkeys(edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text, path, dpi=None):
    """Draw DOT text to ``path`` (.png, .svg or .pdf) with Graphviz's ``dot`` program; returns the path.

    ``dpi`` sets a PNG's resolution (Graphviz's default is 96).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ChainruleError(f"explain.render: cannot draw a .{fmt} file; choose one of "
                             f"{', '.join('.' + f for f in FORMATS)}")
    program = shutil.which("dot")
    if program is None:
        raise ChainruleError("explain.render: Graphviz's 'dot' program is not installed (apt install "
                             "graphviz, brew install graphviz); the DOT text itself needs nothing")
    options = [] if dpi is None else [f"-Gdpi={int(dpi)}"]
    result = subprocess.run([program, f"-T{fmt}", *options, "-o", str(path)], input=dot_text, text=True,
                            capture_output=True, timeout=120)
    if result.returncode != 0:
        raise ChainruleError(f"explain.render: dot failed: {result.stderr.strip()}")
    return path


def _shape(tensor):
    return "(" + ", ".join(str(n) for n in tensor.shape) + ")"


def _escape(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')
