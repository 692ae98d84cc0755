"""The backward engine: accumulation, retained and freed graphs, hooks, grad modes, memory, depth."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, GraphError


def test_worked_example_of_the_issue():
    x1 = cr.tensor(2.0, requires_grad=True)
    x2 = cr.tensor(3.0, requires_grad=True)
    v1 = x1 * x2
    y1 = cr.sin(v1)
    y2 = v1 + cr.log(x2)
    y1.backward()
    assert np.isclose(x1.grad.item(), 3 * np.cos(6), rtol=1e-6)
    assert np.isclose(x2.grad.item(), 2 * np.cos(6), rtol=1e-6)
    assert np.isclose(y2.item(), 6 + np.log(3), rtol=1e-6)

    f = lambda a, b: (cr.sin(a * b), a * b + cr.log(b))  # noqa: E731 - as written in the issue
    (y1, y2), (dy1, dy2) = cr.jvp(f, (x1, x2), (cr.tensor(1.0), cr.tensor(0.0)))
    assert np.isclose(y1.item(), np.sin(6), rtol=1e-6) and np.isclose(y2.item(), 6 + np.log(3), rtol=1e-6)
    assert np.isclose(dy1.item(), 3 * np.cos(6), rtol=1e-6)  # d/dx1 sin(x1 x2) = x2 cos(x1 x2)
    assert np.isclose(dy2.item(), 3.0, rtol=1e-6)  # d/dx1 (x1 x2 + log x2) = x2

    x = cr.tensor(np.linspace(-2, 2, 5), requires_grad=True)
    assert x.dtype == np.float64
    (g,) = cr.autograd.grad(cr.tanh(x).sum(), [x], create_graph=True)
    g.sum().backward()
    t = np.tanh(np.linspace(-2, 2, 5))
    np.testing.assert_allclose(g.numpy(), 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), -2 * t * (1 - t**2), rtol=1e-12)
    assert x.grad.dtype == np.float64


def test_reused_tensor_accumulates():
    a = cr.tensor(3.0, requires_grad=True)
    b = a + a
    c = b * b  # c = 4 a^2, dc/da = 8 a
    c.backward()
    assert a.grad.item() == 24.0


def test_backward_twice_with_retain_graph_doubles_the_leaf_grad():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (a * a).sum()
    loss.backward(retain_graph=True)
    first = a.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * first)
    np.testing.assert_allclose(first, [2.0, 4.0])


def test_second_backward_without_retain_graph_raises_a_helpful_error():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (a * cr.exp(a)).sum()
    loss.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        loss.backward()


def test_backward_of_non_scalar_needs_a_gradient():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    y = a * 2
    with pytest.raises(GraphError, match=r"non-scalar.*\(2,\).*gradient"):
        y.backward()
    y.backward(cr.tensor([1.0, 10.0]))
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 20.0])


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(DTypeError, match="floating"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError):
        cr.arange(3).requires_grad_()


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(GraphError, match="requires_grad"):
        (cr.tensor([1.0]) * 2).sum().backward()


def test_hook_on_leaf_sees_and_replaces_the_gradient():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    a.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = a.register_hook(lambda g: g * 10)
    (a * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(a.grad.numpy(), [30.0, 30.0])
    handle.remove()
    a.grad = None
    (a * 3).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])
    assert len(seen) == 2


def test_hook_on_non_leaf_changes_what_flows_upstream():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    seen = []
    b.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 0.5)
    (b * b).sum().backward()  # d/db = 2b = [4, 8]; halved = [2, 4]; times db/da = 2
    np.testing.assert_allclose(seen[0], [4.0, 8.0])
    np.testing.assert_allclose(a.grad.numpy(), [4.0, 8.0])
    assert b.grad is None


def test_retain_grad_keeps_a_non_leaf_gradient():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    b.retain_grad()
    (b * b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(a.grad.numpy(), [18.0, 36.0])


def test_no_grad_builds_no_graph_also_as_decorator():
    a = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        b = a * 2
        with cr.enable_grad():
            c = a * 2
    assert cr.is_grad_enabled()
    assert not b.requires_grad and b.is_leaf and b._node is None
    assert c.requires_grad and not c.is_leaf

    @cr.no_grad()
    def double(x):
        return x * 2

    d = double(a)
    assert not d.requires_grad and d._node is None
    assert cr.is_grad_enabled()


def test_intermediates_are_released_after_backward():
    a = cr.tensor(np.ones(1000), requires_grad=True)
    b = cr.exp(a)
    c = cr.tanh(b)
    loss = c.sum()
    refs = [weakref.ref(b), weakref.ref(c), weakref.ref(b._node), weakref.ref(c._node)]
    del b, c
    gc.collect()
    assert all(r() is not None for r in refs)  # the graph keeps them alive before backward
    loss.backward()
    gc.collect()
    assert all(r() is None for r in refs), "backward left intermediates alive"
    assert loss._node is not None  # the output keeps its (released) node: a second backward can say why


def test_long_chain_has_no_recursion_error():
    a = cr.tensor(1.0, requires_grad=True)
    x = a
    for _ in range(100_000):
        x = x + 0.0
    x.backward()
    assert a.grad.item() == 1.0


def test_autograd_grad_with_grad_outputs_unused_inputs_and_non_leaf_inputs():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    unused = cr.tensor(1.0, requires_grad=True)
    b = a * a  # non-leaf input
    y = b * 3
    ga, gb, gu = cr.autograd.grad(y, [a, b, unused], grad_outputs=cr.tensor([1.0, 2.0]),
                                  allow_unused=True)
    np.testing.assert_allclose(ga.numpy(), [6.0, 24.0])  # 6 a * [1, 2]
    np.testing.assert_allclose(gb.numpy(), [3.0, 6.0])
    assert gu is None
    assert a.grad is None  # grad() returns, it does not accumulate
    with pytest.raises(GraphError, match="allow_unused"):
        cr.autograd.grad((a * 2).sum(), [a, unused])


def test_autograd_grad_create_graph_gives_second_derivatives():
    x = cr.tensor(np.array([0.3, -1.2]), requires_grad=True)
    (g,) = cr.autograd.grad((x ** 3).sum(), [x], create_graph=True)
    assert g.requires_grad
    (h,) = cr.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_leaf_gradient_accumulates_across_calls():
    w = cr.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * 2 * w.numpy())


def test_backward_seed_takes_the_output_dtype():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    seen = []
    b.register_hook(lambda g: seen.append(g.dtype))
    b.backward(np.array([1.0, 1.0]))  # a float64 seed for a float32 output
    assert seen == [np.float32] and a.grad.dtype == np.float32
    with pytest.raises(cr.ShapeError, match=r"\(3,\).*\(2,\)"):
        (a * 3).backward(cr.ones(3))


def test_backward_with_create_graph_allows_a_second_derivative():
    x = cr.tensor(np.array([0.5, -1.0]), requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy()**2)
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_diamond_graph_with_shared_intermediates():
    x = cr.tensor(np.array([0.3, 0.7]), requires_grad=True)
    shared = cr.exp(x)
    loss = (shared * cr.sin(shared) + shared.sum() * shared).sum()
    loss.backward()
    e = np.exp(x.numpy())
    # d/dx [Σ e sin e + (Σ e)^2] = e (sin e + e cos e) + 2 (Σ e) e
    np.testing.assert_allclose(x.grad.numpy(), e * (np.sin(e) + e * np.cos(e)) + 2 * e.sum() * e)


def test_each_leaf_owns_a_writable_grad_array():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    c = cr.tensor(5.0, requires_grad=True)
    ((a + b) * 1.0 + c).sum().backward()  # a and b receive one array; c a broadcast sum
    assert a.grad.numpy() is not b.grad.numpy()
    for leaf in (a, b, c):
        assert leaf.grad.numpy().flags.writeable
        assert leaf.grad.numpy().base is None
    a.grad.data *= 0
    assert np.array_equal(b.grad.numpy(), [1.0, 1.0])
