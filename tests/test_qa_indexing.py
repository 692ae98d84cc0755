"""Indexing mistakes a PyTorch/NumPy user makes, and the messages they get (QA pass on issue #2)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError


def test_a_float_index_array_is_a_dtype_error_that_says_how_to_convert():
    x = cr.tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(DTypeError, match=r"float64.*astype\('int64'\)"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(DTypeError, match="float32"):
        x[cr.tensor([0.0, 1.0])]


def test_a_wrong_mask_names_its_shape_without_printing_every_element():
    x = cr.tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(ShapeError) as caught:
        x[np.zeros((200, 200), bool)]
    message = str(caught.value)
    assert "(200, 200)" in message and "(3, 4)" in message
    assert len(message) < 400


def test_integer_and_mask_indices_still_work_with_their_gradients():
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[np.array([2, 0, 2])][:, np.array([True, False, True, False])]
    assert y.data.tolist() == [[8.0, 10.0], [0.0, 2.0], [8.0, 10.0]]
    y.sum().backward()
    assert x.grad.data.tolist() == [[1, 0, 1, 0], [0, 0, 0, 0], [2, 0, 2, 0]]


def test_one_hot_refuses_fractional_labels_but_takes_whole_floats():
    with pytest.raises(DTypeError, match="fractions"):
        cr.one_hot(np.array([0.0, 1.7]), 3)
    assert cr.one_hot(np.array([2.0, 0.0]), 3).data.tolist() == [[0, 0, 1], [1, 0, 0]]
