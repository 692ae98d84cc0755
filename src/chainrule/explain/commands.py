"""``chainrule explain graph|saliency|filters``: the pictures of :mod:`chainrule.explain` from a terminal.

Each returns the lines to print; the files go to ``out``.
"""

from pathlib import Path

import numpy

from chainrule.errors import ChainruleError

COMMANDS = {"graph": "NAME|FILE", "saliency": "FILE IMAGE.png", "filters": "NAME|FILE"}


def run(command, arguments, out=".", method="gradient", load=None):
    """Run ``chainrule explain COMMAND ARGUMENTS...``; ``load(path)`` reads a model file."""
    expected = COMMANDS[command].split()
    if len(arguments) != len(expected):
        raise ChainruleError(f"explain {command} takes {COMMANDS[command]}, got {len(arguments)} "
                             f"argument(s): {' '.join(arguments) or '(none)'}")
    Path(out).mkdir(parents=True, exist_ok=True)
    if command == "graph":
        return _graph(arguments[0], Path(out), load)
    if command == "saliency":
        return _saliency(load(arguments[0]), arguments[1], Path(out), method)
    return _filters(arguments[0], Path(out), load)


def _model(name_or_file, load):
    """(model, label, sample batch) for a zoo name or a saved file."""
    from chainrule import zoo

    if name_or_file in zoo.names():
        entry = zoo.get(name_or_file)
        model, label, shape = entry.build(), name_or_file, entry.input_shape
    elif Path(name_or_file).is_file():
        model, label, shape = load(name_or_file), Path(name_or_file).stem, None
    else:
        raise FileNotFoundError(f"{name_or_file!r} is neither a zoo model ({', '.join(zoo.names())}) "
                                "nor a file")
    spec = getattr(model, "input_spec", None)
    if spec and all(n is not None for n in spec["shape"][1:]):
        return model, label, numpy.zeros((2, *spec["shape"][1:]), dtype=spec["dtype"])
    if shape is None:
        raise ChainruleError(f"{label}: the model does not record the shape of its inputs (input_spec)")
    return model, label, numpy.random.default_rng(0).random((2, *shape)).astype("float32")


def _graph(name_or_file, out, load):
    from chainrule.autograd.mode import enable_grad
    from chainrule.autograd.tensor import Tensor
    from chainrule.explain.graph import graph, render
    from chainrule.nn.modes import evaluating

    model, label, sample = _model(name_or_file, load)
    with evaluating(model), enable_grad():
        output = model(Tensor(sample))
    dot = graph(output, model=model)
    path = out / f"{label}_graph.dot"
    path.write_text(dot)
    lines = [f"graph (DOT): {path}"]
    try:
        lines.append(f"graph picture: {render(dot, out / f'{label}_graph.png')}")
    except ChainruleError as error:
        lines.append(f"(no picture: {error})")
    return lines


def _saliency(model, image_path, out, method):
    from chainrule import plots
    from chainrule.explain.saliency_maps import saliency, scores
    from chainrule.zoo.evaluation import _input_kind, read_digit_image

    image = read_digit_image(image_path)
    x = image.reshape(1, 784) if _input_kind(model) == "flat" else image.reshape(1, 1, 28, 28)
    attribution = saliency(model, x, method=method)
    _, predicted = scores(model, x)
    path = plots.saliency(image, attribution[0], out / f"{Path(image_path).stem}_saliency.png",
                          title=f"predicted {int(predicted[0])} ({method.replace('_', ' ')})")
    return [f"predicted class: {int(predicted[0])}", f"saliency map: {path}"]


def _filters(name_or_file, out, load):
    from chainrule import plots

    model, label, _ = _model(name_or_file, load)
    convolutions = [(n, m) for n, m in model.named_modules() if getattr(m, "weight", None) is not None
                    and m.weight.ndim == 4]
    if convolutions:
        name, layer = convolutions[0]
        path = plots.filters(layer, out / f"{label}_filters.png", title=f"{label}: filters of layer '{name}'")
        return [f"filters of layer '{name}' ({type(layer).__name__}): {path}"]
    dense = [(n, m) for n, m in model.named_modules() if getattr(m, "weight", None) is not None
             and m.weight.ndim == 2 and m.weight.shape[1] == 784]
    if not dense:
        raise ChainruleError(f"{label} has no convolution and no layer reading 28x28 digits: "
                             "no filters to draw")
    name, layer = dense[0]
    path = plots.weight_images(layer.weight, out / f"{label}_filters.png",
                               title=f"{label}: weights of layer '{name}' as images")
    return [f"weights of layer '{name}' ({type(layer).__name__}) as images: {path}"]
