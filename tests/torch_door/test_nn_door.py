"""The nn additions of the PyTorch door, gradient-checked in float64 and compared with PyTorch (#12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
import chainrule.optim as optim
from chainrule.autograd import gradcheck

RNG = np.random.default_rng(0)


def _leaf(*shape):
    # values away from the kinks (0 for ELU/PReLU, ±1 for Hardtanh) so finite differences are smooth
    values = RNG.uniform(0.1, 0.8, shape) * RNG.choice([-1.0, 1.0], shape) * RNG.choice([1.0, 2.0], shape)
    return cr.tensor(values, requires_grad=True)


# name -> (ours, torch's, input shapes)
CASES = {
    "elu": (lambda x: F.elu(x, 0.7), lambda t, x: t.nn.functional.elu(x, 0.7), [(3, 4)]),
    "selu": (F.selu, lambda t, x: t.nn.functional.selu(x), [(3, 4)]),
    "gelu": (F.gelu, lambda t, x: t.nn.functional.gelu(x), [(3, 4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), [(3, 4)]),
    "silu": (F.silu, lambda t, x: t.nn.functional.silu(x), [(3, 4)]),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda t, x: t.nn.functional.hardtanh(x, -0.5, 1.5),
                 [(3, 4)]),
    "prelu": (F.prelu, lambda t, x, w: t.nn.functional.prelu(x, w), [(2, 3, 4), (3,)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                         lambda t, x, w, b: t.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                                              output_padding=1),
                         [(2, 3, 3, 4), (3, 2, 3, 3), (2,)]),
    "conv_transpose2d_dilated": (lambda x, w: F.conv_transpose2d(x, w, dilation=2, stride=(1, 2)),
                                 lambda t, x, w: t.nn.functional.conv_transpose2d(x, w, dilation=2,
                                                                                  stride=(1, 2)),
                                 [(1, 2, 3, 3), (2, 3, 2, 2)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
                            lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (3, 2)), [(2, 2, 5, 7)]),
    "adaptive_avg_pool2d_even": (lambda x: F.adaptive_avg_pool2d(x, 2),
                                 lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, 2), [(2, 2, 4, 6)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                   lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b), [(3, 4, 2, 3), (4,), (4,)]),
    "upsample_nearest": (lambda x: F.interpolate(x, scale_factor=2),
                         lambda t, x: t.nn.functional.interpolate(x, scale_factor=2), [(1, 2, 3, 2)]),
    "upsample_fractional": (lambda x: F.interpolate(x, scale_factor=1.5),
                            lambda t, x: t.nn.functional.interpolate(x, scale_factor=1.5), [(1, 2, 3, 4)]),
    "upsample_size": (lambda x: F.interpolate(x, size=(5, 3)),
                      lambda t, x: t.nn.functional.interpolate(x, size=(5, 3)), [(1, 2, 3, 2)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences_in_float64(name):
    ours, _, shapes = CASES[name]
    assert gradcheck(ours, tuple(_leaf(*s) for s in shapes))


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs, shapes = CASES[name]
    inputs = [_leaf(*s) for s in shapes]
    twins = [torch.tensor(x.numpy(), requires_grad=True) for x in inputs]
    out, ref = ours(*inputs), theirs(torch, *twins)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = RNG.standard_normal(out.shape)
    out.backward(cr.tensor(seed))
    ref.backward(torch.tensor(seed))
    for x, t in zip(inputs, twins):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layers_have_pytorchs_parameters_and_shapes():
    torch = pytest.importorskip("torch")
    pairs = [(nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1),
              torch.nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)), (nn.PReLU(3), torch.nn.PReLU(3))]
    for ours, theirs in pairs:
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
               {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
    expected = pairs[0][1](torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(pairs[0][0](cr.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
    bound = 1 / np.sqrt(5 * 4 * 4)  # PyTorch's fan_in of a transposed conv: out_channels · kh · kw
    assert np.abs(nn.ConvTranspose2d(3, 5, 4).weight.numpy()).max() <= bound
    for layer in (nn.ELU(), nn.GELU(), nn.SELU(), nn.SiLU(), nn.Hardtanh(), nn.AdaptiveAvgPool2d(1),
                  nn.Upsample(scale_factor=2), nn.Dropout2d(0.3)):
        assert layer(cr.ones(2, 3, 4, 4)).shape[:2] == (2, 3)


def test_dropout2d_drops_whole_channels_and_only_in_training():
    cr.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    out = layer(cr.ones(8, 16, 3, 3)).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0} and (per_channel.min(2) == per_channel.max(2)).all()
    assert 0 < (per_channel[:, :, 0] == 0).mean() < 1
    layer.eval()
    assert layer(cr.ones(2, 3, 2, 2)).numpy().min() == 1.0


def test_one_hot_is_int64_and_infers_the_number_of_classes():
    out = F.one_hot(cr.tensor([0, 3, 1]))
    assert out.dtype == np.int64 and out.shape == (3, 4) and out.argmax(1).tolist() == [0, 3, 1]
    assert F.one_hot(cr.tensor([1]), num_classes=5).tolist() == [[0, 1, 0, 0, 0]]


def test_module_tree_methods_and_freezing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    names = ["Sequential", "Linear", "Sequential", "ReLU", "Linear"]
    assert [type(m).__name__ for m in model.modules()] == names
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Sequential"]
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and len(seen) == 5
    model[0].requires_grad_(False)
    before = [p.numpy().copy() for p in model.parameters()]
    for opt in (optim.SGD(model.parameters(), lr=0.1, momentum=0.9), optim.Adam(model.parameters()),
                optim.RMSprop(model.parameters()), optim.Adagrad(model.parameters()),
                optim.AdamW(model.parameters()), optim.Adadelta(model.parameters())):
        opt.zero_grad()
        model(cr.ones(4, 2)).sum().backward()
        opt.step()
    after = [p.numpy() for p in model.parameters()]
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])


def test_nn_utils_clip_and_vectors():
    model = nn.Linear(3, 2)
    model(cr.ones(1, 3) * 100).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert total > 1 and np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in model.parameters())) <= 1.0 + 1e-5
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    assert max(np.abs(p.grad.numpy()).max() for p in model.parameters()) <= 0.01
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.shape == (8,)
    nn.utils.vector_to_parameters(vector * 0 + 1, model.parameters())
    assert model.weight.numpy().min() == 1.0 and model.bias.numpy().max() == 1.0
