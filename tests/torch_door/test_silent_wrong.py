"""Regression tests of the PyTorch idioms that gave a wrong result with no error (#12)."""

import numpy as np
import pytest

import chainrule as cr


def _matrix():
    return cr.tensor(np.array([[1.0, 7.0, 3.0], [9.0, 2.0, 4.0]], np.float32))


def test_transpose_of_two_dims_swaps_them_as_in_pytorch():
    w = _matrix()
    assert w.transpose(0, 1).tolist() == w.numpy().T.tolist()
    assert cr.transpose(w, 0, 1).tolist() == w.numpy().T.tolist()
    x = cr.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert x.transpose(0, 2).shape == (4, 3, 2)
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), np.swapaxes(x.numpy(), 0, 2))


def test_a_full_permutation_keeps_numpys_meaning():
    x = cr.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.transpose(2, 0, 1).numpy(), x.numpy().transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose((1, 0, 2)).numpy(), x.numpy().transpose(1, 0, 2))
    np.testing.assert_array_equal(cr.transpose(x, (2, 0, 1)).numpy(), x.numpy().transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose().numpy(), x.numpy().T)


def test_transpose_gradient_flows_back_swapped():
    w = cr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True)
    (w.transpose(0, 1) * cr.tensor(np.arange(6, dtype=np.float64).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.arange(6).reshape(3, 2).T)


@pytest.mark.parametrize("name, pick", [("max", np.max), ("min", np.min)])
def test_max_and_min_with_a_dim_give_values_and_indices(name, pick):
    x = _matrix()
    arg = np.argmax if name == "max" else np.argmin
    for result in (getattr(x, name)(1), getattr(cr, name)(x, 1), getattr(x, name)(dim=1)):
        values, indices = result
        assert result.values is values and result.indices is indices
        assert values.tolist() == pick(x.numpy(), axis=1).tolist()
        assert indices.tolist() == arg(x.numpy(), axis=1).tolist()
        assert result[1].tolist() == arg(x.numpy(), axis=1).tolist()  # output.max(1)[1] is the argmax
    kept = getattr(x, name)(1, keepdim=True)
    assert kept.values.shape == (2, 1) and kept.indices.shape == (2, 1)


def test_max_without_a_dim_or_with_numpys_axis_gives_the_values_only():
    x = _matrix()
    assert x.max().item() == 9.0 and cr.min(x).item() == 1.0
    assert x.max(axis=1).tolist() == [7.0, 9.0]
    assert cr.max(x, axis=0, keepdims=True).shape == (1, 3)


def test_max_of_two_tensors_is_elementwise():
    a, b = _matrix(), cr.tensor(np.full((2, 3), 5.0, np.float32))
    assert cr.max(a, b).tolist() == np.maximum(a.numpy(), b.numpy()).tolist()
    assert a.min(b).tolist() == np.minimum(a.numpy(), b.numpy()).tolist()


def test_the_lecture_accuracy_line_counts_correct_predictions():
    output = cr.tensor(np.array([[0.1, 2.0, 0.3], [5.0, 0.2, 0.1], [0.0, 0.1, 0.9]], np.float32))
    target = cr.tensor(np.array([1, 0, 0]))
    pred = output.max(1, keepdim=True)[1]
    assert pred.eq(target.view_as(pred)).sum().item() == 2
    assert (output.argmax(dim=1) == target).sum().item() == 2


def test_sort_gives_values_and_indices_and_the_values_carry_the_gradient():
    x = cr.tensor(np.array([[3.0, 1.0, 2.0]]), requires_grad=True)
    values, indices = x.sort(dim=1, descending=True)
    assert values.tolist() == [[3.0, 2.0, 1.0]] and indices.tolist() == [[0, 2, 1]]
    (values * cr.tensor(np.array([[1.0, 10.0, 100.0]]))).sum().backward()
    assert x.grad.tolist() == [[1.0, 100.0, 10.0]]
