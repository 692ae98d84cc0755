"""How a tensor prints: PyTorch's format, so that a lecture's printed outputs match to the digit.

PyTorch's rules (its ``torch/_tensor_str.py``, written again here): floats with 4 decimals
(``tensor(2.5000)``); where every finite non-zero value is a whole number, no decimals and a point
(``tensor([1., 2.])``); scientific notation with 4 decimals where the non-zero magnitudes span more
than 1000x, exceed 1e8, or (with fractions) go below 1e-4. Every element is padded to one width,
chosen from the elements shown; a row holds as many as fit in 80 characters after its indent; past
1000 elements only the first and last 3 of each axis print, around ``...``. The dtype is named
unless it is the default float, int64 or bool.
"""

import math

import numpy

PRECISION = 4
LINE_WIDTH = 80
THRESHOLD = 1000  # elements beyond which the middle is left out
EDGE_ITEMS = 3
SCI_MODE = None  # None: PyTorch's choice above; True or False: always or never scientific
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """PyTorch's ``torch.set_printoptions``: decimals, the element count past which the middle is left
    out, the elements kept at each edge, the line width; ``profile`` "default", "short" or "full"
    sets all four first; ``sci_mode`` True/False forces scientific notation on or off (None: automatic).
    """
    global PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH, SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile is one of {sorted(_PROFILES)}, got {profile!r}")
        PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH = _PROFILES[profile]
    PRECISION = PRECISION if precision is None else int(precision)
    THRESHOLD = THRESHOLD if threshold is None else threshold
    EDGE_ITEMS = EDGE_ITEMS if edgeitems is None else int(edgeitems)
    LINE_WIDTH = LINE_WIDTH if linewidth is None else int(linewidth)
    SCI_MODE = sci_mode  # PyTorch resets it to automatic when it is not given
HIDDEN_DTYPES = ("int64", "bool")  # named in the repr only when not these (or the default float)
PREFIX = "tensor("


def format_values(array):
    """The body of ``tensor(...)``: the values as PyTorch prints them."""
    if array.size == 0:
        return "[]"  # the repr adds size=(...) where the shape is not (0,)
    summarize = array.size > THRESHOLD
    shown = _edges(array) if summarize else array
    element, width = _formatter(shown.reshape(-1), array.dtype.kind)
    if array.ndim == 0:
        return element(array.item()).strip()
    return _nested(array, len(PREFIX), summarize, (element, width))


def _formatter(values, kind):
    """(the function printing one element, the common width) for the elements ``values``."""
    if kind == "b":
        width = max(len(str(bool(v))) for v in values)
        return (lambda v: str(bool(v)).rjust(width)), width
    if kind != "f":
        width = max(len(str(v)) for v in values.tolist())
        return (lambda v: str(v).rjust(width)), width
    finite = values[numpy.isfinite(values) & (values != 0)].astype(numpy.float64)
    if finite.size == 0:  # zeros, infs and NaNs only
        pattern, width = "{:.0f}.", 1
    else:
        magnitude = numpy.abs(finite)
        smallest, largest = magnitude.min(), magnitude.max()
        whole = bool(numpy.all(finite == numpy.ceil(finite)))
        automatic = largest / smallest > 1000.0 or largest > 1.0e8 or (not whole and smallest < 1.0e-4)
        if SCI_MODE if SCI_MODE is not None else automatic:
            pattern = f"{{:.{PRECISION}e}}"
        elif whole:
            pattern = "{:.0f}."
        else:
            pattern = f"{{:.{PRECISION}f}}"
        width = max(len(pattern.format(v)) for v in finite.tolist())

    def element(value):
        text = f"{value}" if math.isnan(value) or math.isinf(value) else pattern.format(value)
        return text.rjust(width)

    return element, width


def _nested(array, indent, summarize, element):  # element: (function, width)
    """``[...]`` of one axis: rows of elements for the last axis, sub-blocks for the others."""
    if array.ndim == 1:
        return _vector(array, indent, summarize, element)
    count = array.shape[0]
    if summarize and count > 2 * EDGE_ITEMS:
        parts = [_nested(array[i], indent + 1, summarize, element) for i in range(EDGE_ITEMS)]
        parts.append("...")
        parts += [_nested(array[i], indent + 1, summarize, element) for i in range(count - EDGE_ITEMS, count)]
    else:
        parts = [_nested(array[i], indent + 1, summarize, element) for i in range(count)]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _vector(array, indent, summarize, formatter):
    element, width = formatter
    values = array.tolist()
    if summarize and len(values) > 2 * EDGE_ITEMS:
        texts = [element(v) for v in values[:EDGE_ITEMS]] + [" ..."]
        texts += [element(v) for v in values[-EDGE_ITEMS:]]
    else:
        texts = [element(v) for v in values]
    per_line = max(1, (LINE_WIDTH - indent) // (width + 2))  # an element and its ", "
    lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _edges(array):
    """The elements a summarised print shows (the first and last EDGE_ITEMS of every axis)."""
    for axis, size in enumerate(array.shape):
        if size > 2 * EDGE_ITEMS:
            keep = numpy.r_[0:EDGE_ITEMS, size - EDGE_ITEMS:size]
            array = numpy.take(array, keep, axis=axis)
    return array


def with_suffixes(body, suffixes):
    """``tensor(body, suffix, ...)``: a suffix that would pass LINE_WIDTH starts a line of its own."""
    text = PREFIX + body
    last_line = len(text) - text.rfind("\n") + 1  # PyTorch's measure, kept for identical breaks
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINE_WIDTH:
            text += ",\n" + " " * len(PREFIX) + suffix
            last_line = len(PREFIX) + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
