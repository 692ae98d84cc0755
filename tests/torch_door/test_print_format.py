"""Tensors print as PyTorch prints them (the lectures' printed outputs, to the digit).

The rules are PyTorch's (chainrule.autograd.tensor_str); the strings below are PyTorch 2.13's own
output for the same values, and with PyTorch installed many more tensors are compared with it."""

import re
import zlib

import numpy as np
import pytest

import chainrule as cr

KNOWN = [  # PyTorch's output for these values
    (2.5, "tensor(2.5000)"),
    (43.855, "tensor(43.8550)"),
    ([1.0, 2.0], "tensor([1., 2.])"),
    ([1.5, 2.25], "tensor([1.5000, 2.2500])"),
    ([[0.1, 100.0]], "tensor([[  0.1000, 100.0000]])"),
    ([1e-5, 1.0], "tensor([1.0000e-05, 1.0000e+00])"),
    ([1e6, 1.0], "tensor([1.0000e+06, 1.0000e+00])"),
    ([1.0, float("nan"), float("-inf")], "tensor([1., nan, -inf])"),
    ([0.0, 0.0], "tensor([0., 0.])"),
    (3, "tensor(3)"),
    ([1, 10], "tensor([ 1, 10])"),
    ([True, False], "tensor([ True, False])"),
    ([True], "tensor([True])"),
]


@pytest.mark.parametrize("values, text", KNOWN)
def test_values_print_as_pytorch_prints_them(values, text):
    assert repr(cr.tensor(values)) == text
    assert str(cr.tensor(values)) == text


def test_suffixes_and_empty_tensors():
    assert repr(cr.tensor([1.5], dtype=cr.float64)) == "tensor([1.5000], dtype=float64)"
    assert repr(cr.tensor([1.5], requires_grad=True)) == "tensor([1.5000], requires_grad=True)"
    assert repr(cr.zeros(0)) == "tensor([])"
    assert repr(cr.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(cr.zeros(0, dtype=cr.int64)) == "tensor([], dtype=int64)"


def test_a_long_tensor_is_summarised_at_both_ends():
    text = repr(cr.arange(2000, dtype=cr.float32))
    assert text == ("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                    "        1.9990e+03])")


def _body(text):
    """The values part: the suffixes differ by the dtypes' names (torch.float64 against float64)."""
    return re.sub(r",\s*(dtype|size|requires_grad)=.*\)$", ")", text, flags=re.S)


CASES = [(shape, scale, kind) for shape in [(), (1,), (5,), (4, 6), (2, 3, 4), (40, 40), (2000,), (1001,),
                                            (7, 200), (3, 400, 2), (0, 3)]
         for scale in (1, 1e-5, 1e3, 1e9, 1e-3) for kind in ("float32", "whole", "float64", "int", "bool")]


@pytest.mark.parametrize("shape, scale, kind", CASES)
def test_the_same_as_pytorch_for_many_tensors(shape, scale, kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(zlib.crc32(repr((shape, scale, kind)).encode()))
    values = {"float32": lambda: (rng.standard_normal(shape) * scale).astype(np.float32),
              "whole": lambda: np.round(rng.standard_normal(shape) * scale).astype(np.float32),
              "float64": lambda: rng.standard_normal(shape) * scale,
              "int": lambda: rng.integers(-50, 50000, shape),
              "bool": lambda: rng.random(shape) > 0.5}[kind]()
    if values.size > 2 and kind == "float32" and scale == 1e3:
        values.flat[0], values.flat[-1] = np.nan, -np.inf
    theirs, ours = repr(torch.tensor(values)).replace("torch.", ""), repr(cr.tensor(values))
    assert _body(ours) == _body(theirs)
    for suffix in ("dtype=", "size="):
        assert (suffix in ours) == (suffix in theirs)
