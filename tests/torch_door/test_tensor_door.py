"""Tensor methods, devices, dtypes and creation functions as PyTorch code uses them (#12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.errors import ConfigError, GraphError


def _x():
    return cr.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))


def test_reductions_take_dim_and_keepdim_and_numpys_keywords():
    x = _x()
    a = x.numpy()
    assert x.sum(dim=1).tolist() == a.sum(axis=1).tolist()
    assert x.sum(1, keepdim=True).shape == (2, 1, 4)
    assert x.sum(axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert x.mean((0, 1)).shape == (4,)
    assert x.prod(2).shape == (2, 3) and x.cumsum(dim=2).tolist() == a.cumsum(axis=2).tolist()
    assert x.argmax(dim=2).tolist() == a.argmax(axis=2).tolist()
    assert x.argmin(2, keepdim=True).shape == (2, 3, 1)
    assert x.all(dim=0).shape == (3, 4) and bool(x.any())
    np.testing.assert_allclose(x.softmax(dim=-1).sum(-1).numpy(), 1, rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(1).exp().sum(1).numpy(), 1, rtol=1e-6)
    np.testing.assert_allclose(x.norm().item(), np.linalg.norm(a), rtol=1e-6)
    np.testing.assert_allclose(x.norm(p=1, dim=2).numpy(), np.abs(a).sum(2), rtol=1e-6)


def test_std_and_var_are_unbiased_by_default_as_pytorch_and_biased_numpys_way():
    x = _x()
    a = x.numpy().astype(np.float64)
    np.testing.assert_allclose(x.std().item(), a.std(ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.var(1).numpy(), a.var(axis=1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), a.var(axis=1), rtol=1e-5)
    np.testing.assert_allclose(x.std(axis=1).numpy(), a.std(axis=1), rtol=1e-5)


def test_reductions_match_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    x, t = cr.tensor(a), torch.tensor(a)
    for ours, theirs in [(x.std(1), t.std(1)), (x.var(), t.var()), (x.mean(2, keepdim=True), t.mean(2, True)),
                         (x.max(1).values, t.max(1).values), (x.norm(dim=0), t.norm(dim=0)),
                         (x.logsumexp(1), t.logsumexp(1))]:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert x.max(1).indices.tolist() == t.max(1).indices.tolist()
    assert x.sort(dim=0).indices.tolist() == t.sort(dim=0, stable=True).indices.tolist()


def test_shape_methods():
    x = _x()
    assert x.view(-1, 4).shape == (6, 4) and x.view((4, 6)).shape == (4, 6)
    assert x.view_as(cr.zeros(6, 4)).shape == (6, 4) and x.reshape(4, -1).shape == (4, 6)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert x.squeeze(0).shape == (2, 3, 4)  # PyTorch: a dim that is not of size 1 stays
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.permute((1, 0, 2)).shape == (3, 2, 4)
    assert x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    assert x[:, :1].expand(-1, 5, 4).shape == (2, 5, 4)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.size == 24 and x.numel() == 24 and x.dim() == 3
    m = cr.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert m.t().shape == (3, 2) and m.T.shape == (3, 2) and m.contiguous() is m
    assert m.repeat(2, 1).tolist() == np.tile(m.numpy(), (2, 1)).tolist()
    assert m.repeat(1, 2, 2).tolist() == np.tile(m.numpy(), (1, 2, 2)).tolist()


def test_repeat_and_expand_gradients_sum_back():
    m = cr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True)
    m.repeat(3, 2).sum().backward()
    assert m.grad.tolist() == np.full((2, 3), 6.0).tolist()


def test_maths_and_comparisons():
    a = cr.tensor(np.array([[1.0, -2.0], [3.0, 4.0]], np.float32))
    assert a.mm(a).tolist() == (a.numpy() @ a.numpy()).tolist()
    assert a.matmul(a).tolist() == cr.mm(a, a).tolist()
    b = cr.stack([a, a])
    assert b.bmm(b).shape == (2, 2, 2)
    with pytest.raises(cr.ShapeError, match="mm"):
        cr.mm(b, a)
    assert a.pow(2).tolist() == [[1.0, 4.0], [9.0, 16.0]] and a.clamp(min=0).min().item() == 0.0
    assert a.sign().tolist() == [[1.0, -1.0], [1.0, 1.0]] and a.abs().sum().item() == 10.0
    assert a.eq(1).sum().item() == 1 and a.ne(1).sum().item() == 3 and a.lt(0).sum().item() == 1
    assert a.ge(3).sum().item() == 2 and a.gt(3).sum().item() == 1 and a.le(1).sum().item() == 2
    assert a.long().dtype == np.int64 and a.int().dtype == np.int32 and a.double().dtype == np.float64
    assert a.bool().dtype == np.bool_ and a.float().dtype == np.float32 and a.half().dtype == np.float16


def test_top_level_functions_with_pytorchs_meanings():
    x = cr.tensor(np.arange(10, dtype=np.float32))
    assert [p.shape for p in cr.split(x, 4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in cr.split(x, [3, 7])] == [(3,), (7,)]
    assert [p.shape for p in cr.split(x, indices_or_sections=2)] == [(5,), (5,)]  # NumPy's keyword
    assert [p.shape for p in cr.chunk(x, 3)] == [(4,), (4,), (2,)] and len(x.chunk(5)) == 5
    assert cr.cat([x, x], dim=0).shape == (20,) and cr.stack([x, x], dim=1).shape == (10, 2)
    assert cr.where(x > 5, x, cr.zeros_like(x)).sum().item() == 6 + 7 + 8 + 9
    assert cr.where(x > 7)[0].tolist() == [8, 9]


def test_dtype_constants_are_accepted_wherever_numpy_dtypes_are():
    assert cr.zeros(2, dtype=cr.float64).dtype == np.float64
    assert cr.ones(2, dtype=cr.long).dtype == np.int64 and cr.float is cr.float32 and cr.long is cr.int64
    assert cr.tensor([1, 2], dtype=cr.uint8).dtype == np.uint8
    assert cr.tensor([1.0]).to(cr.float16).dtype == np.float16
    assert cr.tensor([True]).dtype == cr.bool and cr.tensor([1]).to(cr.int32).dtype == np.int32
    assert cr.arange(3, dtype=cr.float64).dtype == np.float64
    assert cr.eye(2, dtype="float64").dtype == np.float64


def test_devices_on_the_cpu_and_a_clear_error_for_cuda_without_the_gpu_extra():
    device = cr.device("cpu")
    assert device == "cpu" and str(device) == "cpu" and repr(device) == "device(type='cpu')"
    x = cr.randn(2, 3, device=device)
    assert x.device == device and x.to(device) is x and x.cpu() is x and not x.is_cuda
    assert x.to("cpu", cr.float64).dtype == np.float64
    assert x.to(cr.zeros(1, dtype=cr.float64)).dtype == np.float64
    assert cr.cuda.is_available() is False
    with pytest.raises(ConfigError, match="gpu"):
        x.to("cuda")
    with pytest.raises(ConfigError, match="gpu"):
        cr.zeros(2, device="cuda")
    with pytest.raises(ConfigError, match="gpu"):
        nn.Linear(2, 2).to(cr.device("cuda"))
    with pytest.raises(ConfigError, match="unknown device"):
        cr.device("tpu")


def test_module_to_double_float_and_device():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.to(cr.device("cpu")) is model and model.double()[0].weight.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64 and model.float()[0].bias.dtype == np.float32
    assert model.to(cr.float64)[0].weight.dtype == np.float64


def test_creation_functions():
    assert cr.empty(2, 3).shape == (2, 3) and cr.empty_like(cr.ones(4)).shape == (4,)
    assert cr.full((2,), 3).dtype == np.int64 and cr.full((2,), 0.5).dtype == np.float32
    assert cr.full((2,), True).dtype == np.bool_ and cr.full_like(cr.ones(2), 7).tolist() == [7.0, 7.0]
    assert cr.arange(5).tolist() == [0, 1, 2, 3, 4] and cr.arange(1, 2, 0.5).tolist() == [1.0, 1.5]
    assert cr.arange(0, 1, 0.25).dtype == np.float32
    assert cr.linspace(0, 1, steps=5).tolist() == [0, .25, .5, .75, 1]
    assert cr.eye(3).sum().item() == 3 and cr.eye(2, 3).shape == (2, 3)
    assert cr.rand_like(cr.ones(3)).shape == (3,) and cr.randn_like(cr.ones(2, 2)).shape == (2, 2)
    assert sorted(cr.randperm(5).tolist()) == [0, 1, 2, 3, 4] and cr.randint(3, (4,)).max().item() < 3
    base = cr.ones(2, dtype=cr.float64)
    assert base.new_zeros(3).dtype == np.float64 and base.new_ones((2, 2)).shape == (2, 2)
    assert base.new_tensor([1, 2]).dtype == np.float64 and base.new_full((2,), 4.0).tolist() == [4.0, 4.0]


def test_from_numpy_shares_memory_and_tensor_copies():
    array = np.zeros(3, np.float32)
    shared, copied = cr.from_numpy(array), cr.tensor(array)
    array[0] = 5
    assert shared[0].item() == 5 and copied[0].item() == 0
    with pytest.raises(TypeError, match="ndarray"):
        cr.from_numpy([1, 2])


def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    cr.manual_seed(0)
    p = nn.Parameter(np.zeros((50, 40), np.float32))
    assert isinstance(p.data, cr.Tensor) and not p.data.requires_grad and p.data.is_leaf
    p.data.normal_(0, 0.02)
    assert 0.015 < p.numpy().std() < 0.025
    p.data.uniform_(-1, 1)
    assert -1 <= p.numpy().min() and p.numpy().max() <= 1
    (p * 2).sum().backward()
    before = p.numpy().copy()
    p.data -= 0.1 * p.grad.data  # lecture-style SGD without no_grad
    np.testing.assert_allclose(p.numpy(), before - 0.2, rtol=1e-6)
    p.grad.data.zero_()
    assert not p.grad.numpy().any() and isinstance(p.grad, cr.Tensor)
    p.data.fill_(3.0)
    p.data.copy_(np.ones((50, 40)))
    assert p.numpy().sum() == 2000.0
    p.data = cr.zeros(50, 40)
    assert p.numpy().sum() == 0.0 and isinstance(p, nn.Parameter)


def test_state_dict_values_are_tensors_and_numpy_is_the_raw_array():
    layer = nn.Linear(2, 3)
    state = layer.state_dict()
    assert all(isinstance(v, cr.Tensor) and not v.requires_grad for v in state.values())
    assert isinstance(layer.weight.numpy(), np.ndarray)
    layer.load_state_dict({k: v * 0 for k, v in state.items()})
    assert layer.weight.abs().sum().item() == 0.0


def test_in_place_methods_outside_the_graph():
    x = cr.tensor(np.array([1.0, 2.0, 3.0]))
    assert x.add_(1) is x and x.tolist() == [2.0, 3.0, 4.0]
    x.sub_(cr.ones(3), alpha=2).mul_(2).div_(4)
    assert x.tolist() == [0.0, 0.5, 1.0]
    x.clamp_(0.2, 0.8)
    assert x.tolist() == [0.2, 0.5, 0.8] and x.zero_().sum().item() == 0.0
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(GraphError, match="no_grad"):
        w.add_(1)
    with pytest.raises(GraphError, match="no_grad"):
        w.zero_()
    with cr.no_grad():
        w.mul_(3)
    assert w.tolist() == [3.0, 3.0] and w.requires_grad_(False) is w and not w.requires_grad


def test_changing_in_place_a_tensor_backward_needs_raises():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.exp()
    z = y * y  # keeps y for its gradient
    y.add_(1)  # a non-leaf: in place, recorded
    with pytest.raises(GraphError, match="changed in place"):
        z.sum().backward()


def test_in_place_on_a_non_leaf_changes_it_and_keeps_the_gradient_right():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    same = y
    y.mul_(3).add_(1)
    assert same is y and y.tolist() == [7.0, 13.0]
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_grad_fn_next_functions_walk_down_to_the_leaves():
    """The 60-minute blitz prints loss.grad_fn.next_functions[0][0] and so on, down the graph."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    ((mul, index),) = y.grad_fn.next_functions
    assert index == 0 and type(mul).__name__ == "Mul"
    (leaf, _), (constant, _) = mul.next_functions
    assert leaf.variable is w and leaf.next_functions == () and constant is None
    assert repr(leaf).startswith("<AccumulateGrad object at 0x")


def test_grad_fn_keeps_pytorch_name_after_backward():
    """Tutorials print loss.grad_fn after loss.backward(): the freed node still names itself."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).mean()
    loss.backward()
    assert loss.grad_fn.name() == "MeanBackward0"
    assert repr(loss.grad_fn).startswith("<MeanBackward0 object at 0x")
    assert repr(loss).endswith("grad_fn=<MeanBackward0>)")


def test_custom_function_node_is_named_after_the_function():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    y = Square.apply(cr.tensor([3.0], requires_grad=True))
    assert y.grad_fn.name() == "SquareBackward"  # PyTorch's name of a custom Function's node
