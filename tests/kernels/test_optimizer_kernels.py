"""The compiled optimiser kernels (chainrule.kernels.compiled) against the NumPy ``update`` they replace.

Each configuration runs a few steps twice from the same start, once with CHAINRULE_NO_NUMBA=1 (the
NumPy rule) and once with the kernels, and the parameters and state must agree to float rounding.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
from chainrule.kernels import compiled as fast  # noqa: E402
from chainrule.optim import optimizer as optimizer_module  # noqa: E402

CONFIGS = [
    (cr.optim.RMSprop, {"lr": 1e-2}),
    (cr.optim.RMSprop, {"lr": 1e-2, "momentum": 0.9, "weight_decay": 1e-2, "alpha": 0.9}),
    (cr.optim.RMSprop, {"lr": 1e-2, "centered": True}),  # declined: NumPy path
    (cr.optim.Adam, {"lr": 1e-2}),
    (cr.optim.Adam, {"lr": 1e-2, "weight_decay": 1e-1, "betas": (0.8, 0.99)}),
    (cr.optim.Adam, {"lr": 1e-2, "amsgrad": True}),  # declined
    (cr.optim.AdamW, {"lr": 1e-2, "weight_decay": 1e-1}),
    (cr.optim.SGD, {"lr": 1e-2, "momentum": 0.9}),
    (cr.optim.SGD, {"lr": 1e-2, "momentum": 0.9, "dampening": 0.3, "weight_decay": 1e-2}),
    (cr.optim.SGD, {"lr": 1e-2, "momentum": 0.9, "nesterov": True}),  # declined
]


def _run(optimizer_class, options, dtype, steps=4):
    rng = np.random.default_rng(7)
    params = [cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in [(300, 200), (17,), ()]]
    opt = optimizer_class(params, **options)
    for _ in range(steps):
        for p in params:  # fresh gradients each step, the same in both runs
            p.grad = cr.tensor(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    state = [{k: np.copy(v) for k, v in opt.state[p].items() if isinstance(v, np.ndarray)} for p in params]
    return [p.numpy().copy() for p in params], state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_class, options", CONFIGS,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CONFIGS)])
def test_kernel_equals_numpy_update(monkeypatch, optimizer_class, options, dtype):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    reference, reference_state = _run(optimizer_class, options, dtype)
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    assert optimizer_module.update_kernel(optimizer_class) is not None
    compiled, compiled_state = _run(optimizer_class, options, dtype)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(compiled, reference):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
    for a_state, b_state in zip(compiled_state, reference_state):
        assert a_state.keys() == b_state.keys()
        for key in a_state:
            np.testing.assert_allclose(a_state[key], b_state[key], rtol=tolerance, atol=tolerance)


def test_environment_variable_forces_numpy(monkeypatch):
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "1")
    assert not fast.enabled()
    assert optimizer_module.update_kernel(cr.optim.Adam) is None


def test_kernel_declines_non_contiguous_gradient(monkeypatch):
    monkeypatch.delenv(fast.DISABLE_VARIABLE, raising=False)
    kernel = optimizer_module.update_kernel(cr.optim.RMSprop)
    opt = cr.optim.RMSprop([cr.tensor(np.ones((4, 3), np.float32), requires_grad=True)])
    p = opt.param_groups[0]["params"][0]
    state = opt.init_state(p.numpy(), opt.param_groups[0])
    gradient = np.ones((3, 4), np.float32).T  # Fortran order: the kernel must leave it to NumPy
    assert kernel(opt, p.numpy(), gradient, state, opt.param_groups[0]) is False
    assert np.all(p.numpy() == 1.0) and np.all(state["square_avg"] == 0.0)


def test_subclass_keeps_its_own_update(monkeypatch):
    monkeypatch.delenv(fast.DISABLE_VARIABLE, raising=False)

    class HalfStepAdam(cr.optim.Adam):
        pass

    assert optimizer_module.update_kernel(HalfStepAdam) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_class, options, key", [
    (cr.optim.Adam, {"lr": 1e-2}, "exp_avg"),
    (cr.optim.Adam, {"lr": 1e-2, "weight_decay": 1e-1}, "exp_avg"),
    (cr.optim.SGD, {"lr": 1e-2, "momentum": 0.9}, "momentum_buffer"),
    (cr.optim.RMSprop, {"lr": 1e-2}, "square_avg"),
    (cr.optim.RMSprop, {"lr": 1e-2, "momentum": 0.9}, "momentum_buffer"),
])
def test_state_decaying_below_the_smallest_normal_number_becomes_zero(monkeypatch, optimizer_class, options,
                                                                      key, dtype):
    """A dead unit's state decays geometrically into subnormal numbers, ~100x slower per operation:
    the kernels set it to zero there, keep it above, and keep NaN."""
    monkeypatch.setenv(fast.DISABLE_VARIABLE, "0")
    assert optimizer_module.update_kernel(optimizer_class) is not None
    tiny = np.finfo(dtype).tiny
    p = cr.tensor(np.zeros(4, dtype=dtype), requires_grad=True)
    opt = optimizer_class([p], **options)
    p.grad = cr.tensor(np.zeros(4, dtype=dtype))
    opt.step()  # creates the state
    state = opt.state[p][key]
    state[...] = np.array([tiny * 1.01, tiny * 1e3, 1.0, np.nan], dtype=dtype)
    if key == "exp_avg":
        opt.state[p]["exp_avg_sq"][...] = 1.0
    opt.step()  # zero gradient: the state only decays (by 0.9 or 0.99)
    assert state[0] == 0 and state[1] > 0 and state[2] > 0 and np.isnan(state[3])
    assert not np.any((np.abs(state) > 0) & (np.abs(state) < tiny))
