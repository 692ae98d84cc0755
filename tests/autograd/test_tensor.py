"""The Tensor API, constructors and dtype rules."""

import numpy as np
import pytest

import chainrule as cr


def test_array_facts_and_conversions():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float32
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.numpy()
    assert cr.tensor(2.5).item() == 2.5 and isinstance(cr.tensor(2.5).item(), float)
    with pytest.raises(ValueError, match="one element"):
        x.item()
    assert len(x) == 2
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [4.0, 5.0, 6.0]
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    np.testing.assert_array_equal(np.asarray(x), x.numpy())


def test_detach_requires_grad_and_is_leaf():
    a = cr.tensor([1.0, 2.0])
    assert not a.requires_grad and a.is_leaf
    assert a.requires_grad_() is a and a.requires_grad
    b = a * 2
    assert not b.is_leaf and b.requires_grad
    d = b.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.numpy(), b.numpy())


def test_repr_shows_values_dtype_and_grad_state():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    r = repr(cr.tensor(np.array([1.5]), requires_grad=True))
    assert "1.5" in r and "float64" in r and "requires_grad=True" in r
    assert repr(cr.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulBackward0>)"


def test_comparisons_give_boolean_tensors_without_grad():
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(a < 2, [True, False, False]), (a <= 2, [True, True, False]),
                             (a > 2, [False, False, True]), (a >= 2, [False, True, True]),
                             (a == 2, [False, True, False]), (a != 2, [True, False, True]),
                             (a == cr.tensor([1.0, 0.0, 3.0]), [True, False, True])]:
        assert isinstance(result, cr.Tensor) and result.dtype == bool and not result.requires_grad
        assert result.tolist() == expected


def test_getitem_basic_and_advanced_with_repeated_indices_accumulating():
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    assert x[1].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert x[:, 1:3].shape == (3, 2) and x[..., None].shape == (3, 4, 1)
    assert x[-1, -1].item() == 11.0
    y = x[[0, 0, 2]]
    np.testing.assert_array_equal(y.numpy(), x.numpy()[[0, 0, 2]])
    (y.sum() + x[1, 2] * 5 + x[cr.tensor([2, 2])].sum()).backward()
    expected = np.zeros((3, 4))
    expected[0] = 2
    expected[2] = 1 + 2
    expected[1, 2] = 5
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    mask = x.numpy() > 8
    assert x[mask].tolist() == [9.0, 10.0, 11.0]


def test_numpy_array_on_the_left_of_operators():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    left = np.array([3.0, 4.0], dtype=np.float32)
    for result, expected in [(left + a, [4.0, 6.0]), (left - a, [2.0, 2.0]), (left * a, [3.0, 8.0]),
                             (left / a, [3.0, 2.0])]:
        assert isinstance(result, cr.Tensor) and result.requires_grad
        np.testing.assert_allclose(result.numpy(), expected)
    m = np.eye(2, dtype=np.float32) @ a
    assert isinstance(m, cr.Tensor) and m.tolist() == [1.0, 2.0]
    (left * a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), left)


def test_python_scalars_on_the_left():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_allclose((1 - a).numpy(), [0.0, -1.0])
    np.testing.assert_allclose((2 / a).numpy(), [2.0, 1.0])
    np.testing.assert_allclose((2 ** a).numpy(), [2.0, 4.0])
    np.testing.assert_allclose((-a).numpy(), [-1.0, -2.0])


def test_constructor_dtypes():
    assert cr.tensor(1.0).dtype == np.float32
    assert cr.tensor([1.0, 2]).dtype == np.float32
    assert cr.tensor([[1.5]]).dtype == np.float32
    assert cr.tensor(3).dtype == np.int64 and cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor(np.zeros(2)).dtype == np.float64
    assert cr.tensor(np.zeros(2, dtype=np.float16)).dtype == np.float16
    assert cr.tensor(np.zeros(2, dtype=np.int32)).dtype == np.int32
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    source = np.ones(3)
    copied = cr.tensor(source)
    copied.data[0] = 5
    assert source[0] == 1, "tensor() must copy its data"
    for t in (cr.zeros(2, 3), cr.ones((2, 3)), cr.full((2,), 7.0), cr.rand(2), cr.randn(2, 2),
              cr.linspace(0, 1, 5), cr.eye(3), cr.arange(0.0, 1.0, 0.25)):
        assert t.dtype == np.float32, t
    assert cr.zeros(2, 3).shape == cr.ones((2, 3)).shape == (2, 3)
    assert cr.arange(5).dtype == np.int64 and cr.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert cr.zeros_like(cr.tensor(np.zeros((2, 1)))).dtype == np.float64
    assert cr.ones_like(cr.zeros(4)).tolist() == [1.0] * 4
    np.testing.assert_array_equal(cr.eye(3).numpy(), np.eye(3))
    np.testing.assert_allclose(cr.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))


def test_random_constructors_repeat_after_manual_seed():
    cr.manual_seed(123)
    first = (cr.rand(3).numpy().copy(), cr.randn(2, 2).numpy().copy())
    cr.manual_seed(123)
    second = (cr.rand(3).numpy().copy(), cr.randn(2, 2).numpy().copy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    cr.manual_seed(124)
    assert not np.array_equal(cr.rand(3).numpy(), first[0])
    assert np.all((first[0] >= 0) & (first[0] < 1))


def _every_op(x, y, m):
    """One use of each differentiable op, with Python scalar constants mixed in."""
    p = cr.exp(x) + 1.0
    results = [x + y, x - 2.0, 3.0 * x, x / 2.0, 2.0 / p, p ** 0.5, 2.0 ** x, -x, cr.abs(x), cr.exp(x),
               cr.log(p), cr.log1p(p), cr.sqrt(p), cr.sin(x), cr.cos(x), cr.tanh(x), cr.sigmoid(x),
               cr.relu(x), cr.leaky_relu(x, 0.2), cr.softplus(x), cr.maximum(x, 0.5), cr.minimum(x, y),
               cr.clip(x, -0.5, 0.5), cr.where(x.numpy() > 0, x, 0.0), x @ m, cr.dot(x[0], y[0]), x.sum(),
               x.mean(axis=0), x.var(), x.std(axis=1, ddof=1), x.max(), x.min(axis=0),
               cr.logsumexp(x, axis=1), cr.softmax(x), cr.log_softmax(x, axis=0), x.reshape(-1),
               x.transpose(), x.swapaxes(0, 1), x[None].squeeze(0), cr.expand_dims(x, 0),
               cr.broadcast_to(x, (2, 2, 3)), cr.concatenate([x, y]), cr.stack([x, y]),
               cr.split(x, 3, axis=1)[0], cr.flatten(x), cr.pad(x, 1), cr.take(x, [0, 1]), x[0, 1:],
               x.astype(x.dtype), x.mean() * 0.5 + 1]
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_op_keeps_the_float_dtype(dtype):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 3)).astype(dtype), requires_grad=True)
    y = cr.tensor(rng.standard_normal((2, 3)).astype(dtype), requires_grad=True)
    m = cr.tensor(rng.standard_normal((3, 2)).astype(dtype), requires_grad=True)
    results = _every_op(x, y, m)
    for i, r in enumerate(results):
        assert r.dtype == dtype, f"result {i} is {r.dtype} from {np.dtype(dtype)} inputs"
    total = sum(r.sum() for r in results)
    total.backward()
    for t in (x, y, m):
        assert t.grad.dtype == dtype
    (g,) = cr.autograd.grad((cr.tanh(x) * 0.5).sum(), [x], create_graph=True)
    (gg,) = cr.autograd.grad((g * 2.0).sum(), [x])
    assert g.dtype == gg.dtype == dtype
    _, tangent = cr.jvp(lambda t: cr.softmax(t * 2.0) + 1.0, (x,), (cr.ones_like(x, dtype=dtype),))
    assert tangent.dtype == dtype


def test_numpy_scalar_constants_do_not_promote_float32():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    results = [x * np.float64(2.0), x / np.sqrt(2.0), np.float64(3.0) * x, x - np.int64(1),
               x ** np.float64(2.0), cr.maximum(x, np.float64(1.5))]
    for r in results:
        assert r.dtype == np.float32
    sum(r.sum() for r in results).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose((x * np.float64(2.0)).numpy(), [2.0, 4.0])
