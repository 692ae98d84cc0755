"""The NumPy convolution kernels (chunked im2col, col2im clipped to the unpadded image) against the
reference op, on the geometries where the clipping could go wrong, forward and both gradients.

The input gradient is written into dense batch-innermost memory (not a view into a padded buffer),
so the ReLU backward that follows takes its one-pass form.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.kernels import compiled, conv
from chainrule.ops.window import Window, batch_innermost, is_batch_innermost

GEOMETRIES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation
    ((2, 3, 8, 8), (4, 3, 3), 1, 1, 1),
    ((2, 2, 9, 8), (3, 3, 3), 2, 1, 1),  # stride 2: taps reach every other row
    ((1, 2, 11, 10), (3, 3, 3), 1, 2, 2),  # dilation 2
    ((2, 2, 10, 9), (3, 3, 2), (2, 1), (1, 0), (1, 2)),  # mixed strides and dilations
    ((2, 2, 7, 8), (2, 4, 4), 1, "same", 1),  # uneven padding: more at the bottom and right
    ((2, 2, 6, 6), (2, 3, 3), 1, 4, 1),  # padding wider than the kernel: taps that miss the image
    ((2, 1, 9, 9), (3, 5, 5), 1, 0, 1),  # no padding
]


def _gradients(geometry, reference):
    (n, c, h, w), (o, kh, kw), stride, padding, dilation = geometry
    rng = np.random.default_rng(0)
    values = batch_innermost(np, (n, c, h, w), np.float64)
    values[...] = rng.standard_normal((n, c, h, w))
    x = cr.Tensor(values, requires_grad=True)
    weight = cr.tensor(rng.standard_normal((o, c, kh, kw)), requires_grad=True)
    bias = cr.tensor(rng.standard_normal(o), requires_grad=True)
    with cr.use_reference_ops(reference):
        y = F.conv2d(x, weight, bias, stride, padding, dilation)
        dx, dw, db = cr.autograd.grad(y, [x, weight, bias], [cr.tensor(rng.standard_normal(y.shape))])
    return y.numpy(), dx.numpy(), dw.numpy(), db.numpy()


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("form", ["numpy", "compiled col2im", "tiles"])
def test_chunked_forms_equal_the_reference(geometry, form, monkeypatch, request):
    """Both forms of col2im (the NumPy adds, Numba's one pass, with the tiles kept out), and the
    register tiles where the stride across is 1 (col2im elsewhere)."""
    if form != "numpy":
        pytest.importorskip("numba")
        monkeypatch.delenv(compiled.DISABLE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(compiled.DISABLE_VARIABLE, "1")
    calls = []
    if form == "compiled col2im":
        module = compiled.load("col2im")
        kernel = module.add_columns
        monkeypatch.setattr(module, "add_columns", lambda *a: calls.append(1) or kernel(*a))
        monkeypatch.setattr(conv, "tiles_for", lambda *a: None)
    if form == "tiles":
        calls = request.getfixturevalue("tiles_taken")
    monkeypatch.setattr(conv, "CHUNK_BYTES", 64)  # one output row per chunk: the clipping per chunk
    fast = _gradients(geometry, reference=False)
    if form == "compiled col2im":
        assert calls, "the compiled col2im did not run"
    if form == "tiles":
        across = geometry[2] if isinstance(geometry[2], int) else geometry[2][1]
        assert calls and all(calls) == (across == 1)  # the tiles took every pass, or none of them
    for got, want in zip(fast, _gradients(geometry, reference=True)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_input_gradient_is_dense_batch_innermost(monkeypatch):
    monkeypatch.setenv(compiled.DISABLE_VARIABLE, "1")
    weight = np.ones((4, 3, 3, 3))
    g = batch_innermost(np, (2, 4, 8, 8), np.float64, 1.0)
    dx = conv.input_grad(np, Window((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)), 1, (2, 3, 8, 8), g, weight)
    assert is_batch_innermost(dx)
    assert dx[0, 0, 0, 0] == 4 * 4 and dx[1, 2, 4, 4] == 4 * 9  # 4 channels by 2x2 taps (corner), 3x3 inside


@pytest.mark.parametrize("geometry, as_convolution", [
    (GEOMETRIES[0], True), (GEOMETRIES[2], True), (GEOMETRIES[4], True),  # "same": as many outputs
    (GEOMETRIES[6], False),  # no padding: fewer outputs, so a larger product on the padded g
    (GEOMETRIES[1], False),  # stride 2: col2im
    (GEOMETRIES[5], False),  # padding wider than (k − 1)·dilation: more outputs than inputs
])
def test_without_numba_a_same_convolutions_input_gradient_is_a_convolution(geometry, as_convolution,
                                                                          monkeypatch):
    """Without the compiled col2im, a stride-1 convolution with as many outputs as inputs unfolds g
    instead of adding kh·kw blocks into dx; the others keep col2im."""
    monkeypatch.setenv(compiled.DISABLE_VARIABLE, "1")
    calls = []
    original = conv._input_grad_as_convolution
    monkeypatch.setattr(conv, "_input_grad_as_convolution", lambda *a: calls.append(1) or original(*a))
    fast = _gradients(geometry, reference=False)
    assert bool(calls) == as_convolution
    np.testing.assert_allclose(fast[1], _gradients(geometry, reference=True)[1], rtol=1e-12, atol=1e-12)
