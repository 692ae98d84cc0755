"""Pictures of training: loss curves and grids of digits, written as PNG files.

matplotlib is imported only when a picture is drawn (``pip install "chainrule[plot]"``), and only
through its object interface (``Figure`` with the Agg canvas): no pyplot, no global backend switch, so
these helpers work on machines without a display and never disturb a user's own plots.
"""

import math
from pathlib import Path

import numpy

from chainrule.atomic import atomic_write
from chainrule.errors import ChainruleError


def _figure(width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        raise ChainruleError('drawing a PNG needs matplotlib: pip install "chainrule[plot]"') from None
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    path = Path(path)
    atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=100))
    return path


def loss_curve(history, path, title="loss"):
    """Plot every loss-like series of ``history`` ({"loss": [...], "val_loss": [...], ...}) per epoch.

    ``history`` may also be a ``History`` callback (its ``.history`` is used). Returns the path.
    """
    history = getattr(history, "history", history)
    series = {name: values for name, values in history.items() if "loss" in name and len(values)}
    if not series:
        raise ValueError(f"loss_curve: expected a 'loss' series in the history, got keys {sorted(history)}")
    figure = _figure(6, 4)
    axes = figure.add_subplot()
    for name, values in series.items():
        epochs = numpy.arange(1, len(values) + 1)
        axes.plot(epochs, values, marker="o" if len(values) < 30 else None, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return _save(figure, path)


def image_grid(rows, path, row_titles=None, title=None, image_shape=(28, 28)):
    """Draw rows of grayscale images, e.g. test digits above their reconstructions.

    ``rows`` is a list of arrays, each (n, h·w) or (n, h, w) with values in [0, 1]; all rows are drawn
    with the same number of columns (the longest row's). Returns the path.
    """
    rows = [numpy.asarray(r, dtype=numpy.float64).reshape(len(r), *image_shape) for r in rows]
    columns = max(len(r) for r in rows)
    figure = _figure(max(2.0, columns * 0.9), len(rows) * 0.9 + (0.4 if title else 0))
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            axes = figure.add_subplot(len(rows), columns, i * columns + j + 1)
            axes.imshow(image, cmap="gray", vmin=0.0, vmax=1.0)
            axes.set_xticks([])
            axes.set_yticks([])
            if j == 0 and row_titles:
                axes.set_ylabel(row_titles[i], fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return _save(figure, path)


def digit_grid(images, path, columns=10, title=None, image_shape=(28, 28)):
    """Draw images (n, h·w) or (n, h, w) in a grid ``columns`` wide, each scaled to its own range."""
    images = numpy.asarray(images, dtype=numpy.float64).reshape(-1, *image_shape)
    low = images.min(axis=(1, 2), keepdims=True)
    high = images.max(axis=(1, 2), keepdims=True)
    scaled = (images - low) / numpy.where(high > low, high - low, 1.0)
    count = len(scaled)
    columns = min(columns, count)
    rows = [scaled[i:i + columns] for i in range(0, count, columns)]
    if len(rows[-1]) < columns:  # pad the last row with blank images
        blank = numpy.zeros((columns - len(rows[-1]), *image_shape))
        rows[-1] = numpy.concatenate([rows[-1], blank])
    return image_grid(rows, path, title=title, image_shape=image_shape)


def weight_images(weight, path, count=32, title="first layer's weights", image_shape=(28, 28)):
    """The first ``count`` rows of a weight (units, h·w) drawn as h×w images (what each unit looks for)."""
    weight = numpy.asarray(getattr(weight, "data", weight), dtype=numpy.float64)
    if weight.ndim != 2 or weight.shape[1] != math.prod(image_shape):
        raise ValueError(f"weight_images: expected a weight of shape (units, {math.prod(image_shape)}), "
                         f"got {weight.shape}")
    return digit_grid(weight[:count], path, columns=8, title=title, image_shape=image_shape)


# ---------------------------------------------------------------- explaining a network
def _image(array):
    """An image as (H, W) or (H, W, 3): a leading channel axis of 1 or 3 is dropped or moved last."""
    array = numpy.asarray(getattr(array, "data", array), dtype=numpy.float64)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array[0] if array.shape[0] == 1 else numpy.moveaxis(array, 0, -1)
    if array.ndim == 1 and math.isqrt(array.size) ** 2 == array.size:  # a flattened square digit
        side = math.isqrt(array.size)
        array = array.reshape(side, side)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an image (H, W), (C, H, W) or a flattened square, got {array.shape}")
    return array


def saliency(image, attribution, path, title=None, alpha=0.6):
    """The image in gray with |attribution| (summed over channels) overlaid as a heat map; returns the path.

    ``attribution`` is what ``cr.explain.saliency`` returned for this image, same shape as it.
    """
    picture = _image(image)
    heat = saliency_heat(picture, attribution)
    figure = _figure(5.0, 2.6)
    for index, (label, show) in enumerate([("input", False), ("saliency", True)]):
        axes = figure.add_subplot(1, 2, index + 1)
        axes.imshow(picture, cmap="gray")
        if show:
            axes.imshow(heat, cmap="inferno", alpha=alpha, vmin=0.0, vmax=1.0)
        axes.set_title(label, fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def saliency_heat(image, attribution):
    """|attribution| per pixel of ``image`` (channels summed), scaled so that its largest value is 1."""
    picture = _image(image)
    heat = numpy.abs(numpy.asarray(getattr(attribution, "data", attribution), dtype=numpy.float64))
    pixels = picture.shape[0] * picture.shape[1]
    if heat.size % pixels:
        raise ValueError(f"saliency: the map's {heat.size} values do not cover the image's {pixels} pixels")
    if heat.ndim == 3 and heat.shape[-1] == 3 and heat.shape[0] != 3:  # (H, W, 3)
        heat = numpy.moveaxis(heat, -1, 0)
    heat = heat.reshape(-1, *picture.shape[:2]).sum(axis=0)
    return heat / heat.max() if heat.max() > 0 else heat


def filters(conv_layer, path, title=None):
    """A convolution's filters, one small image per (output, input) channel pair, each in its own range."""
    weight = numpy.asarray(getattr(getattr(conv_layer, "weight", conv_layer), "data",
                                   getattr(conv_layer, "weight", conv_layer)), dtype=numpy.float64)
    if weight.ndim != 4:
        raise ValueError(f"filters: expected a Conv2d (its weight (out, in, kh, kw)), got a weight of shape "
                         f"{weight.shape}")
    out_channels, in_channels = weight.shape[:2]
    if in_channels > 8:  # a deep layer: one image per output channel, averaged over its inputs
        weight, in_channels = weight.mean(axis=1, keepdims=True), 1
    figure = _figure(max(2.0, out_channels * 0.7), in_channels * 0.7 + 0.5)
    limit = numpy.abs(weight).max() or 1.0
    for i in range(in_channels):
        for o in range(out_channels):
            axes = figure.add_subplot(in_channels, out_channels, i * out_channels + o + 1)
            axes.imshow(weight[o, i], cmap="RdBu_r", vmin=-limit, vmax=limit)  # red +, blue −, white 0
            axes.set_xticks([])
            axes.set_yticks([])
            if i == 0:
                axes.set_title(str(o), fontsize=7)
    figure.suptitle(title or f"{out_channels} filters (red positive, blue negative)", fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def feature_maps(model, layer, x, path, columns=8, title=None):
    """What ``layer`` (a module of ``model`` or its name) outputs for one input ``x`` (no batch axis):
    one image per channel."""
    from chainrule.explain.features import activations

    maps = activations(model, layer, numpy.asarray(getattr(x, "data", x))[None])[0]
    if maps.ndim != 3:
        raise ValueError(f"feature_maps: the layer's output per sample has shape {maps.shape}; expected "
                         "feature maps (C, H, W)")
    name = layer if isinstance(layer, str) else type(layer).__name__
    return digit_grid(maps, path, columns=min(columns, len(maps)), image_shape=maps.shape[1:],
                      title=title or f"{len(maps)} feature maps of layer {name}")


def decision_boundary(model, x, y, path, title=None, resolution=200, margin=0.5):
    """The regions a model with two inputs gives each class, and the points (x, y) over them.

    The model's output per point: one value (a threshold unit, a sigmoid: class 1 where it is ≥ 0.5,
    or ≥ 0 for a model whose outputs go below 0) or one score per class (argmax). Returns the path.
    """
    points = numpy.asarray(x, dtype=numpy.float64)
    labels = numpy.asarray(y).reshape(len(points), -1)
    labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0]
    grid_x, grid_y, classes = decision_regions(model, points, resolution, margin)
    figure = _figure(4.2, 4.0)
    axes = figure.add_subplot()
    axes.contourf(grid_x, grid_y, classes, levels=numpy.arange(classes.max() + 2) - 0.5, cmap="coolwarm",
                  alpha=0.3)
    axes.contour(grid_x, grid_y, classes, levels=numpy.arange(classes.max() + 1) + 0.5, colors="black",
                 linewidths=1)
    axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", edgecolors="black", s=60, zorder=3,
                 vmin=0, vmax=max(1, labels.max()))
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title or "decision boundary", fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def decision_regions(model, x, resolution=200, margin=0.5):
    """(grid_x, grid_y, class at each grid point) over the box around the 2-D points ``x``, ± margin."""
    from chainrule.autograd.mode import no_grad
    from chainrule.autograd.tensor import Tensor
    from chainrule.nn.modes import evaluating

    points = numpy.asarray(x, dtype=numpy.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"decision_boundary: expected 2-D inputs (N, 2), got shape {points.shape}")
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin
    grid_x, grid_y = numpy.meshgrid(numpy.linspace(low[0], high[0], resolution),
                                    numpy.linspace(low[1], high[1], resolution))
    grid = numpy.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), numpy.float32) \
        if hasattr(model, "parameters") else numpy.float32
    with evaluating(model), no_grad():
        scores = numpy.asarray(model(Tensor(grid.astype(dtype)))._data, dtype=numpy.float64)
    return grid_x, grid_y, predicted_classes(scores.reshape(len(grid), -1)).reshape(grid_x.shape)


def predicted_classes(scores):
    """Classes from outputs (N, k): argmax for k > 1; for one output, ≥ 0.5 (in [0, 1]) or ≥ 0."""
    if scores.shape[1] > 1:
        return scores.argmax(axis=1)
    threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
    return (scores[:, 0] >= threshold).astype(int)
