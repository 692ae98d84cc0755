"""The Optimizer base: groups, binding, lr, zero_grad, state_dict round trips, registry, dtypes."""

import json

import numpy as np
import pytest
from optim_problems import wavy_grad

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.nn import Parameter

optim = cr.optim
THETA0 = np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, 1.5]], dtype=np.float32)

ALL = {
    "gd": lambda p: optim.GD(p, lr=0.1, weight_decay=0.01),
    "sgd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01),
    "adadelta": lambda p: optim.Adadelta(p, weight_decay=0.01),
    "adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
}


def steps(opt, params, count):
    for _ in range(count):
        for p in params:
            p.grad = cr.Tensor(wavy_grad(p.numpy()))
        opt.step()


def fresh_params():
    return [Parameter(THETA0.copy()), Parameter(THETA0[0].copy() * 2.0)]


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_round_trip_continues_identically(name):
    params = fresh_params()
    opt = ALL[name](params)
    steps(opt, params, 6)
    straight = [p.numpy().copy() for p in params]

    params = fresh_params()
    opt = ALL[name](params)
    steps(opt, params, 3)
    saved = opt.state_dict()
    json.dumps(saved["param_groups"])  # hyperparameters are JSON-able
    midway = [p.numpy().copy() for p in params]
    steps(opt, params, 1)  # the snapshot is a copy: later steps do not change it

    resumed = fresh_params()
    for p, value in zip(resumed, midway):
        p.data[...] = value
    opt = ALL[name](None)
    opt.bind(resumed)
    opt.load_state_dict(saved)
    steps(opt, resumed, 3)
    for got, want in zip(resumed, straight):
        np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("name", list(ALL))
def test_float32_stays_float32_and_float64_stays_float64(name):
    for dtype in (np.float32, np.float64):
        params = [Parameter(THETA0.astype(dtype))]
        opt = ALL[name](params)
        steps(opt, params, 2)
        assert params[0].dtype == dtype
        for value in opt.state[params[0]].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == dtype


def test_param_groups_take_their_own_learning_rate():
    a, b = Parameter(np.ones(3, np.float32)), Parameter(np.ones(2, np.float32))
    opt = optim.GD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    a.grad, b.grad = cr.Tensor(np.full(3, 2.0, np.float32)), cr.Tensor(np.full(2, 2.0, np.float32))
    opt.step()
    np.testing.assert_allclose(a.numpy(), 1.0 - 0.1 * 2.0)
    np.testing.assert_allclose(b.numpy(), 1.0 - 0.5 * 2.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.lr == 0.1
    opt.lr = 0.01
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]


def test_parameters_without_gradient_are_skipped():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float32))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = cr.Tensor(np.ones(2, np.float32))
    opt.step()
    assert not np.allclose(a.numpy(), 1.0)
    np.testing.assert_array_equal(b.numpy(), 1.0)
    assert b not in opt.state


def test_bind_later_keras_style_and_lr_before_binding():
    opt = optim.RMSprop()
    assert opt.lr == 1e-3 and opt.param_groups == []  # Keras's default lr (see RMSprop)
    opt.lr = 0.05
    p = Parameter(np.ones(2, np.float32))
    assert opt.bind([p]) is opt
    assert opt.lr == 0.05 and opt.param_groups[0]["alpha"] == 0.99
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.ones(2)])
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])


def test_zero_grad_to_none_or_to_fresh_zeros():
    a = Parameter(np.ones(3, np.float32))
    b = Parameter(np.ones(3, np.float32))
    (a + b).sum().backward()  # the engine may give both the same, read-only gradient array
    opt = optim.SGD([a, b], lr=0.1)
    shared = a.grad.numpy()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), 0.0)
    assert a.grad.numpy() is not b.grad.numpy() and a.grad.dtype == np.float32
    assert shared.tolist() == [1.0, 1.0, 1.0]
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_gradients_are_read_not_written():
    p = Parameter(np.ones((2, 3), np.float32))
    grad = np.broadcast_to(np.float32(0.5), (2, 3))  # read-only, as the engine may hand out
    for name, make in ALL.items():
        opt = make([p])
        p.grad = cr.Tensor(grad)
        opt.step()
        assert (grad == 0.5).all(), name


def test_load_state_dict_checks_the_layout():
    params = fresh_params()
    opt = optim.Adam(params, lr=0.1)
    steps(opt, params, 1)
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="parameters"):
        optim.Adam(params[:1]).load_state_dict(saved)
    swapped = [Parameter(THETA0[0].copy()), Parameter(THETA0.copy())]
    with pytest.raises(ShapeError, match="exp_avg"):
        optim.Adam(swapped).load_state_dict(saved)
    other = optim.Adam(fresh_params(), lr=0.5)
    other.load_state_dict(saved)
    assert other.lr == 0.1 and other.param_groups[0]["betas"] == (0.9, 0.999)


def test_registry_and_config_round_trip():
    assert isinstance(optim.get("adam"), optim.Adam) and isinstance(optim.get("RMSprop"), optim.RMSprop)
    opt = optim.get("sgd", lr=0.1, momentum=0.9)
    assert opt.defaults["momentum"] == 0.9 and optim.get(opt) is opt
    assert isinstance(optim.get(optim.AdamW), optim.AdamW)
    with pytest.raises(ValueError, match="known names"):
        optim.get("adamax")
    for name in ("gd", "sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "lbfgs"):
        original = optim.get(name)
        config = original.get_config()
        json.dumps(config)
        assert type(original)(**config).get_config() == config


def test_hyperparameters_out_of_range_raise():
    p = [Parameter(np.ones(2, np.float32))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1.0)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop(p, alpha=1.5)


def test_numpy_scalar_hyperparameters_do_not_promote_float32():
    p = Parameter(np.ones(3, np.float32))
    opt = optim.Adam([p], lr=np.float64(0.1), betas=(np.float64(0.9), 0.999))
    p.grad = cr.Tensor(np.ones(3, np.float32))
    opt.step()
    assert p.dtype == np.float32 and type(opt.lr) is float
    assert all(type(beta) is float for beta in opt.param_groups[0]["betas"])
