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
