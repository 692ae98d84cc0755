import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import Parameter, init


def _param(*shape, dtype=np.float32):
    return Parameter(np.zeros(shape, dtype=dtype))


def test_fans_follow_pytorch_for_linear_and_conv_weights():
    assert init.fans((512, 784)) == (784, 512)
    assert init.fans((16, 6, 5, 5)) == (6 * 25, 16 * 25)
    assert init.fans((7,)) == (7, 7)


@pytest.mark.parametrize("name, bound", [
    ("glorot_uniform", math.sqrt(6 / (300 + 200))),
    ("he_uniform", math.sqrt(6 / 300)),
    ("lecun_uniform", math.sqrt(3 / 300)),
])
def test_uniform_initialisers_fill_their_interval(name, bound):
    w = init.get(name)(_param(200, 300))
    assert np.abs(w.numpy()).max() <= bound
    assert np.abs(w.numpy()).max() > 0.98 * bound  # 60,000 draws reach the edges
    assert abs(w.numpy().std() - bound / math.sqrt(3)) < 0.02 * bound


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", math.sqrt(2 / (300 + 200))),
    ("he_normal", math.sqrt(2 / 300)),
    ("lecun_normal", math.sqrt(1 / 300)),
])
def test_normal_initialisers_have_their_standard_deviation(name, std):
    w = init.get(name)(_param(200, 300))
    assert abs(w.numpy().std() - std) < 0.02 * std
    assert abs(w.numpy().mean()) < 0.02 * std


def test_pytorch_linear_default_bound():
    w = init.kaiming_uniform_(_param(64, 100), a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(100)


def test_draws_repeat_after_manual_seed_and_keep_dtype():
    cr.manual_seed(3)
    a = init.normal_(_param(4, 4, dtype=np.float64)).numpy().copy()
    cr.manual_seed(3)
    b = init.normal_(_param(4, 4, dtype=np.float64)).numpy()
    assert np.array_equal(a, b) and b.dtype == np.float64
    assert init.uniform_(_param(3)).dtype == np.float32


def test_constants_and_unknown_names():
    assert np.all(init.ones_(_param(2, 2)).numpy() == 1)
    assert np.all(init.constant_(_param(2), 0.5).numpy() == 0.5)
    with pytest.raises(ValueError, match="glorot_uniform"):
        init.get("glorot")


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("sigmoid", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
