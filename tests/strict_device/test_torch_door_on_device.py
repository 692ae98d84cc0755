"""PyTorch's door on the device under test: every Tensor method and door function keeps to the device.

Each case runs on NumPy tensors and on device tensors made from the same arrays; results (tensors,
tuples of them, Python numbers) and the gradients of the float inputs must agree, and every tensor
result must live on the device. Any implicit trip to NumPy raises ``TypeError`` inside the stand-in,
as it would on CuPy.
"""

import math

import numpy as np
import pytest
from device_under_test import RTOL, DeviceArray, to_host, xp

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _f(*shape):
    return lambda rng: rng.standard_normal(shape)


def _pos(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def _i(high, *shape):
    return lambda rng: rng.integers(0, high, shape)


def _b(*shape):
    return lambda rng: rng.random(shape) > 0.5


def _inplace(method, *args):
    """An in-place method on a non-leaf copy, so that it is allowed while grad is recorded."""
    def run(x):
        y = x * 1.0
        getattr(y, method)(*(a() if callable(a) else a for a in args))
        return y
    return run


METHODS = {
    # reductions with dim/keepdim, and the named tuples
    "sum": (lambda x: x.sum(1, keepdim=True), [_f(3, 4)]),
    "sum_all": (lambda x: x.sum(), [_f(3, 4)]),
    "mean": (lambda x: x.mean(dim=0), [_f(3, 4)]),
    "prod": (lambda x: x.prod(1), [_pos(3, 4)]),
    "var": (lambda x: x.var(1), [_f(3, 4)]),
    "std": (lambda x: x.std(0, keepdim=True), [_f(3, 4)]),
    "std_all": (lambda x: x.std(), [_f(3, 4)]),
    "max_dim": (lambda x: x.max(1, keepdim=True), [_f(3, 4)]),
    "min_dim": (lambda x: x.min(dim=0), [_f(3, 4)]),
    "max_all": (lambda x: x.max(), [_f(3, 4)]),
    "max_other": (lambda x, y: x.max(y), [_f(3, 4), _f(3, 4)]),
    "argmax": (lambda x: x.argmax(1), [_f(3, 4)]),
    "argmin": (lambda x: x.argmin(dim=0, keepdim=True), [_f(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(1), [_f(3, 4)]),
    "cumsum": (lambda x: x.cumsum(1), [_f(3, 4)]),
    "softmax": (lambda x: x.softmax(1), [_f(3, 4)]),
    "log_softmax": (lambda x: x.log_softmax(dim=-1), [_f(3, 4)]),
    "norm": (lambda x: x.norm(), [_f(3, 4)]),
    "norm_1": (lambda x: x.norm(1, dim=1), [_f(3, 4)]),
    "norm_inf": (lambda x: x.norm(math.inf, dim=0), [_f(3, 4)]),
    "norm_3": (lambda x: x.norm(3), [_f(3, 4)]),
    "any": (lambda x: x.any(1), [_b(3, 4)]),
    "all": (lambda x: x.all(), [_b(3, 4)]),
    "sort": (lambda x: x.sort(1), [_f(3, 4)]),
    "sort_descending": (lambda x: x.sort(dim=0, descending=True), [_f(3, 4)]),
    "gather": (lambda x, i: x.gather(1, i), [_f(3, 4), _i(4, 3, 2)]),
    # shape
    "size": (lambda x: (x.size(), x.size(1), x.numel(), x.dim(), x.size().numel()), [_f(3, 4)]),
    "view": (lambda x: x.view(-1, 2), [_f(3, 4)]),
    "view_as": (lambda x, y: x.view_as(y), [_f(3, 4), _f(4, 3)]),
    "reshape": (lambda x: x.reshape(2, 6), [_f(3, 4)]),
    "reshape_as": (lambda x, y: x.reshape_as(y), [_f(3, 4), _f(2, 6)]),
    "unsqueeze": (lambda x: x.unsqueeze(1), [_f(3, 4)]),
    "squeeze": (lambda x: x.squeeze(1), [_f(3, 1, 4)]),
    "squeeze_all": (lambda x: x.squeeze(), [_f(3, 1, 4)]),
    "permute": (lambda x: x.permute(2, 0, 1), [_f(2, 3, 4)]),
    "transpose": (lambda x: x.transpose(0, 1), [_f(3, 4)]),
    "t": (lambda x: x.t(), [_f(3, 4)]),
    "T": (lambda x: x.T, [_f(3, 4)]),
    "flatten": (lambda x: x.flatten(1), [_f(2, 3, 4)]),
    "expand": (lambda x: x.expand(3, -1, 4), [_f(3, 1)]),
    "expand_as": (lambda x, y: x.expand_as(y), [_f(1, 4), _f(3, 4)]),
    "repeat": (lambda x: x.repeat(2, 3), [_f(3, 4)]),
    "contiguous": (lambda x: x.contiguous(), [_f(3, 4)]),
    "split": (lambda x: x.split(3, dim=1), [_f(3, 7)]),
    "split_sizes": (lambda x: x.split([2, 5], 1), [_f(3, 7)]),
    "chunk": (lambda x: x.chunk(3), [_f(7, 2)]),
    "getitem_tensor": (lambda x, i: x[i], [_f(5, 3), _i(5, 4)]),
    "getitem_mask": (lambda x: x[x > 0], [_f(5, 3)]),
    # maths
    "mm": (lambda a, b: a.mm(b), [_f(3, 4), _f(4, 2)]),
    "bmm": (lambda a, b: a.bmm(b), [_f(2, 3, 4), _f(2, 4, 2)]),
    "matmul": (lambda a, b: a.matmul(b), [_f(3, 4), _f(4)]),
    "dot": (lambda a, b: a.dot(b), [_f(4), _f(4)]),
    "pow": (lambda x: x.pow(2), [_f(3, 4)]),
    "exp_log_sqrt_abs": (lambda x: x.exp() + x.abs().sqrt() + x.abs().log(), [_f(3, 4)]),
    "tanh_sigmoid_relu": (lambda x: x.tanh() + x.sigmoid() + x.relu(), [_f(3, 4)]),
    "sin_cos_log1p": (lambda x: x.sin() + x.cos() + x.log1p() + x.softplus(), [_pos(3, 4)]),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), [_f(3, 4)]),
    "clamp_min": (lambda x: x.clamp(min=0), [_f(3, 4)]),
    "sign": (lambda x: x.sign(), [_f(3, 4)]),
    "neg_add_sub": (lambda x, y: x.neg().add(y, alpha=2).sub(y), [_f(3, 4), _f(3, 4)]),
    "mul_div": (lambda x, y: x.mul(y).div(y.abs() + 1), [_f(3, 4), _f(3, 4)]),
    "compare": (lambda x, y: (x.eq(y), x.ne(y), x.lt(y), x.le(0), x.gt(y), x.ge(0)), [_f(3, 4), _f(3, 4)]),
    "equal": (lambda x, y: (x.equal(y), x.equal(x)), [_f(3, 4), _f(3, 4)]),
    "round": (lambda x: x.round(), [_f(3, 4)]),
    "take": (lambda x: x.take(1, axis=1), [_f(3, 4)]),
    "clone_copy_detach": (lambda x: (x.clone(), x.copy(), x.detach()), [_f(3, 4)]),
    # numbers and conversions
    "item_tolist": (lambda x: (x.sum().item(), float(x.sum()), x.tolist()), [_f(3, 4)]),
    "index": (lambda x, i: x[int(i[0])], [_f(3, 4), _i(3, 1)]),
    "dtypes": (lambda x: (x.long(), x.int(), x.bool(), x.half(), x.float(), x.double(), x.type("int64")),
               [_f(3, 4)]),
    "to_dtype": (lambda x: x.to(cr.float32), [_f(3, 4)]),
    "type_name": (lambda x: x.type(), [_f(3, 4)]),
    # creation methods: the new tensor is on self's device, as in PyTorch
    "new_tensor": (lambda x: x.new_tensor([1.0, 2.0]), [_f(3, 4)]),
    "new_zeros_ones_full_empty": (lambda x: (x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2, 2), 7.0),
                                            x.new_empty(2)), [_f(3, 4)]),
    # in place
    "add_": (_inplace("add_", 1.5), [_f(3, 4)]),
    "sub_mul_div_": (lambda x, y: (x * 1.0).sub_(y, alpha=2).mul_(y).div_(2.0), [_f(3, 4), _f(3, 4)]),
    "zero_fill_": (lambda x: (x.detach().clone().zero_(), x.detach().clone().fill_(3.0)), [_f(3, 4)]),
    "copy_": (lambda x, y: x.detach().clone().copy_(y), [_f(3, 4), _f(3, 4)]),
    "clamp_": (lambda x: x.detach().clone().clamp_(-0.5, 0.5), [_f(3, 4)]),
    "setitem": (lambda x, y: _assigned(x, y), [_f(3, 4), _f(4)]),
    "data_update": (lambda x, y: _data_update(x, y), [_f(3, 4), _f(3, 4)]),
    # found by the sweep against torch
    "topk": (lambda x: x.topk(2, dim=1), [_f(3, 4)]),
    "rounding": (lambda x: (x.floor(), x.ceil(), x.trunc(), x // 0.3, x % 0.3,
                            x.div(0.3, rounding_mode="trunc")), [_f(3, 4)]),
    "reciprocal_square_rsqrt": (lambda x: (x.reciprocal(), x.square(), x.rsqrt()), [_pos(3, 4)]),
    "masks": (lambda x: ((x > 0) & (x < 1), (x > 0) | (x < -1), (x > 0) ^ (x > 1), ~(x > 0),
                         (x > 0).logical_not()), [_f(3, 4)]),
    "integer_division": (lambda i: (i // 2, i % 3, i.div(2, rounding_mode="floor"), i / 2), [_i(9, 3, 4)]),
    "clamp_tensor_bounds": (lambda x, lo: (x.clamp(min=lo), cr.clamp(x, lo, lo + 1)), [_f(3, 4), _f(3, 4)]),
    "facts": (lambda x: (x.is_floating_point(), x.element_size(), x.nelement(), x.is_contiguous(),
                         x.grad_fn is None), [_f(3, 4)]),
    "in_place_activations": (lambda x: [F.relu(x * 1.0, inplace=True), nn.ELU(inplace=True)(x * 1.0),
                                        nn.SiLU(True)(x * 1.0), nn.Hardtanh(inplace=True)(x * 1.0)],
                             [_f(3, 4)]),
}


def _assigned(x, y):
    z = x.detach().clone()
    z[1] = y
    z[z > 1] = 0.0
    return z


def _data_update(x, y):
    z = x.detach().clone().requires_grad_()
    z.data -= 0.1 * y.data
    return z.detach()


FUNCTIONS = {
    "cr.max": (lambda x: cr.max(x, 1), [_f(3, 4)]),
    "cr.min": (lambda x: cr.min(x, dim=0, keepdim=True), [_f(3, 4)]),
    "cr.sort": (lambda x: cr.sort(x, 0, descending=True), [_f(3, 4)]),
    "cr.where_condition": (lambda x: cr.where(x > 0), [_f(3, 4)]),
    "cr.where": (lambda x, y: cr.where(x > 0, x, y), [_f(3, 4), _f(3, 4)]),
    "cr.gather": (lambda x, i: cr.gather(x, 0, i), [_f(3, 4), _i(3, 2, 4)]),
    "cr.cat_stack": (lambda x, y: (cr.cat([x, y], dim=1), cr.stack([x, y], dim=0)), [_f(3, 4), _f(3, 4)]),
    "cr.split_chunk": (lambda x: (*cr.split(x, 2), *cr.chunk(x, 2, dim=1)), [_f(5, 4)]),
    "cr.transpose_permute": (lambda x: (cr.transpose(x, 0, 2), cr.permute(x, (1, 2, 0))), [_f(2, 3, 4)]),
    "cr.mm_bmm": (lambda a, b: (cr.mm(a[0], b[0]), cr.bmm(a, b)), [_f(2, 3, 4), _f(2, 4, 3)]),
    "cr.reductions": (lambda x: (cr.sum(x, 1), cr.mean(x, 0), cr.std(x), cr.var(x, 1), cr.prod(x, 0),
                                 cr.argmax(x, 1), cr.argmin(x), cr.norm(x, dim=1), cr.cumsum(x, 0)),
                      [_f(3, 4)]),
    "cr.softmax": (lambda x: (cr.softmax(x, 1), cr.log_softmax(x, dim=0)), [_f(3, 4)]),
    "cr.clamp_sign": (lambda x: (cr.clamp(x, max=0.2), cr.sign(x)), [_f(3, 4)]),
    "cr.shape_functions": (lambda x: (cr.flatten(x, 1), cr.unsqueeze(x, 0), cr.squeeze(x, 1), cr.numel(x)),
                           [_f(3, 1, 4)]),
    "cr.one_hot": (lambda i: cr.one_hot(i, 5), [_i(5, 6)]),
    "F.one_hot": (lambda i: F.one_hot(i), [_i(5, 6)]),
    "F.one_hot_classes": (lambda i: F.one_hot(i, num_classes=7), [_i(5, 2, 3)]),
    "cr.zeros_like_family": (lambda x: (cr.zeros_like(x), cr.ones_like(x), cr.full_like(x, 2.0),
                                        cr.empty_like(x)), [_f(3, 4)]),
    "cr.tensor_of_tensor": (lambda x: (cr.tensor(x), cr.as_tensor(x)), [_f(3, 4)]),
    "nn.utils.parameters_to_vector": (lambda x, y: nn.utils.parameters_to_vector([x, y]), [_f(3, 4), _f(2)]),
    "F.activations": (lambda x: (F.elu(x), F.gelu(x), F.selu(x), F.silu(x), F.hardtanh(x)), [_f(3, 4)]),
    "F.pad": (lambda x: (F.pad(x, (1, 2)), F.pad(x, (1, 0, 0, 1), value=0.5)), [_f(2, 3, 4)]),
    "F.smooth_l1_loss": (lambda x, y: (F.smooth_l1_loss(x, y), nn.SmoothL1Loss(beta=0.5)(x, y)),
                         [_f(3, 4), _f(3, 4)]),
    "cr.comparisons_topk": (lambda x, y: (cr.eq(x, y), cr.ge(x, y), cr.lt(x, 0), cr.topk(x, 1),
                                          cr.equal(x, x)), [_f(3, 4), _f(3, 4)]),
    "F.losses": (lambda x, t: (F.nll_loss(F.log_softmax(x, dim=1), t, reduction="sum"),
                               F.cross_entropy(x, t)), [_f(6, 5), _i(5, 6)]),
}


def _inputs(specs, on_device):
    rng = np.random.default_rng(0)
    tensors = []
    for spec in specs:
        array = spec(rng)
        data = xp.asarray(array) if on_device else array
        tensors.append(cr.Tensor(data, requires_grad=array.dtype.kind == "f"))
    return tensors


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [item for part in result for item in _flat(part)]
    return [result]


def _compare(name, expected, got):
    expected, got = _flat(expected), _flat(got)
    assert len(expected) == len(got)
    for e, g in zip(expected, got):
        if isinstance(e, cr.Tensor):
            assert isinstance(g._data, DeviceArray), f"{name} left the device: {type(g._data)}"
            assert g.dtype == e.dtype and g.shape == e.shape, name
            np.testing.assert_allclose(to_host(g._data), e._data, rtol=RTOL, atol=RTOL, err_msg=name)
        else:
            assert type(g) is type(e) and g == pytest.approx(e) if isinstance(e, float) else g == e, name


def _run(case, on_device):
    fn, specs = case
    inputs = _inputs(specs, on_device)
    result = fn(*inputs)
    outputs = [t for t in _flat(result) if isinstance(t, cr.Tensor) and t.requires_grad]
    if outputs:
        rng = np.random.default_rng(1)
        loss = 0
        for out in outputs:
            weights = rng.standard_normal(out.shape)
            loss = loss + (out * cr.Tensor(xp.asarray(weights) if on_device else weights)).sum()
        loss.backward()
    return result, [x.grad for x in inputs]


@pytest.mark.parametrize("name", sorted(METHODS) + sorted(FUNCTIONS))
def test_runs_on_the_device_as_on_numpy(name):
    case = METHODS.get(name) or FUNCTIONS[name]
    expected, expected_grads = _run(case, on_device=False)
    got, got_grads = _run(case, on_device=True)
    _compare(name, expected, got)
    for e, g in zip(expected_grads, got_grads):
        assert (e is None) == (g is None), name
        if e is not None:
            _compare(name + " gradient", e, g)


def _on_device(tensor):
    return isinstance(tensor._data, DeviceArray)


def test_nn_utils_move_parameters_to_and_from_one_vector_on_the_device():
    cr.manual_seed(0)
    host = nn.Linear(3, 2).double()
    device = nn.Linear(3, 2).double().to("cuda")
    device.load_state_dict(host.state_dict())
    vector = nn.utils.parameters_to_vector(device.parameters())
    assert _on_device(vector)
    expected = nn.utils.parameters_to_vector(host.parameters())._data
    np.testing.assert_array_equal(to_host(vector._data), expected)
    values = np.arange(8.0)
    nn.utils.vector_to_parameters(cr.Tensor(xp.asarray(values)), device.parameters())
    assert all(_on_device(p) for p in device.parameters())
    np.testing.assert_array_equal(to_host(device.weight._data).ravel(), values[:6])
    nn.utils.vector_to_parameters(cr.tensor(values[::-1].copy()), device.parameters())  # a host vector too
    np.testing.assert_array_equal(to_host(device.bias._data), [1.0, 0.0])


def test_clipping_and_zero_grad_keep_gradients_on_the_device():
    model = nn.Linear(3, 2).to("cuda")
    model(cr.randn(4, 3, device="cuda")).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    assert _on_device(total) and total.item() > 0.1
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    assert all(_on_device(p.grad) and float(p.grad.abs().max()) <= 0.01 for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(_on_device(p.grad) and not p.grad.any() for p in model.parameters())


@pytest.mark.parametrize("fill", [
    lambda t, g: t.normal_(0, 2, generator=g), lambda t, g: t.uniform_(-1, 1, generator=g),
    lambda t, g: nn.init.kaiming_uniform_(t, generator=g),
    lambda t, g: nn.init.xavier_normal_(t, generator=g),
    lambda t, g: nn.init.constant_(t, 0.5), lambda t, g: nn.init.trunc_normal_(t, std=0.5, generator=g),
    lambda t, g: nn.init.orthogonal_(t, generator=g)],
    ids=["normal_", "uniform_", "kaiming_uniform_", "xavier_normal_", "constant_", "trunc_normal_",
         "orthogonal_"])
def test_in_place_fills_draw_the_same_numbers_onto_the_device(fill):
    host = fill(cr.zeros(3, 4), cr.Generator().manual_seed(1))
    device = fill(cr.zeros(3, 4, device="cuda"), cr.Generator().manual_seed(1))
    assert _on_device(device)
    np.testing.assert_array_equal(to_host(device._data), host._data)


@pytest.mark.parametrize("make", [
    lambda **k: cr.randn(2, 3, generator=cr.Generator().manual_seed(2), **k),
    lambda **k: cr.randint(0, 5, (4,), generator=cr.Generator().manual_seed(2), **k),
    lambda **k: cr.randperm(5, generator=cr.Generator().manual_seed(2), **k),
    lambda **k: cr.arange(1, 7, 2, **k), lambda **k: cr.linspace(0, 1, 5, **k), lambda **k: cr.eye(3, **k),
    lambda **k: cr.full((2, 2), 7, **k), lambda **k: cr.tensor([[1.0, 2.0]], **k),
    lambda **k: cr.empty(2, **k)],
    ids=["randn", "randint", "randperm", "arange", "linspace", "eye", "full", "tensor", "empty"])
def test_creation_functions_make_on_the_device_what_they_make_on_the_host(make):
    host, device = make(), make(device="cuda")
    assert _on_device(device) and device.dtype == host.dtype
    np.testing.assert_array_equal(to_host(device._data), host._data)


def test_dropout2d_drops_whole_channels_on_the_device():
    cr.manual_seed(0)
    out = nn.Dropout2d(0.5)(cr.ones(4, 8, 3, 3, device="cuda"))
    assert _on_device(out)
    per_channel = to_host(out._data).reshape(4, 8, 9)
    assert set(np.unique(per_channel)) == {0.0, 2.0} and (per_channel.min(2) == per_channel.max(2)).all()


def test_normalize_and_the_data_loader_keep_device_tensors_on_the_device():
    from chainrule.utils.data import DataLoader, TensorDataset
    from chainrule.vision import transforms

    image = np.random.default_rng(0).random((1, 4, 4)).astype(np.float32)
    normalized = transforms.Normalize((0.1307,), (0.3081,))(cr.Tensor(xp.asarray(image)))
    assert _on_device(normalized)
    np.testing.assert_allclose(to_host(normalized._data), (image - 0.1307) / 0.3081, rtol=1e-6)
    x, y = cr.randn(10, 3, device="cuda"), cr.arange(10, device="cuda")
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True,
                        generator=cr.Generator().manual_seed(0))
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2] and all(_on_device(t) for b in batches for t in b)
    seen = np.concatenate([to_host(b[1]._data) for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    rows = np.concatenate([to_host(b[0]._data) for b in batches])
    np.testing.assert_array_equal(rows, to_host(x._data)[seen])


def test_the_lectures_autograd_listing_runs_on_the_device():
    torch = cr  # the listing's names, with only the device changed
    device = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.randn(16, 30, device=device, dtype=torch.float)
    y = torch.randn(16, 5, device=device, dtype=torch.float)
    w1 = torch.randn(30, 8, device=device, dtype=torch.float, requires_grad=True)
    w2 = torch.randn(8, 5, device=device, dtype=torch.float, requires_grad=True)
    losses = []
    for _ in range(20):
        loss = (x.mm(w1).tanh().mm(w2) - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= 1e-3 * w1.grad
            w2 -= 1e-3 * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    assert losses[-1] < losses[0] and _on_device(w1) and _on_device(w1.grad)


def test_the_lectures_mnist_loop_runs_on_the_device():
    import chainrule.optim as optim

    device = cr.device("cuda")
    cr.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(inplace=True), nn.Linear(8, 3)).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.9)
    images, labels = cr.randn(24, 1, 4, 4), cr.randint(0, 3, (24,))
    loader = cr.utils.data.DataLoader(cr.utils.data.TensorDataset(images, labels), batch_size=8, shuffle=True)
    model.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(data), dim=1), target)
        loss.backward()
        optimizer.step()
    scheduler.step()
    model.eval()
    with cr.no_grad():
        output = F.log_softmax(model(images.to(device)), dim=1)
        test_loss = F.nll_loss(output, labels.to(device), reduction="sum").item()
        pred = output.max(1, keepdim=True)[1]
        correct = pred.eq(labels.to(device).view_as(pred)).sum().item()
    assert _on_device(pred) and isinstance(test_loss, float) and 0 <= correct <= 24
    assert all(_on_device(p) for p in model.parameters())
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.09)
