"""Each optimiser against its formula, written out again here element by element in plain Python.

The references loop over scalars in float64 and share nothing with the library code but the problem.
"""

import math

import numpy as np
import pytest
from optim_problems import run, wavy_grad

import chainrule as cr

THETA0 = np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, 1.5]])
STEPS = 6


def hand_run(rule, hyper, steps=STEPS):
    """Apply ``rule(theta_i, g_i, state_i, t, **hyper)`` -> new theta_i to every element, ``steps`` times."""
    theta = THETA0.ravel().tolist()
    states = [{} for _ in theta]
    path = []
    for t in range(1, steps + 1):
        g = wavy_grad(np.array(theta).reshape(THETA0.shape)).ravel().tolist()
        theta = [rule(th, gi, st, t, **hyper) for th, gi, st in zip(theta, g, states)]
        path.append(np.array(theta).reshape(THETA0.shape))
    return path


def sgd_rule(th, g, st, t, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    g = g + weight_decay * th
    if momentum:
        st["b"] = g if t == 1 else momentum * st["b"] + (1 - dampening) * g
        g = g + momentum * st["b"] if nesterov else st["b"]
    return th - lr * g


def rmsprop_rule(th, g, st, t, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    g = g + weight_decay * th
    st["s"] = alpha * st.get("s", 0.0) + (1 - alpha) * g * g
    s = st["s"]
    if centered:
        st["m"] = alpha * st.get("m", 0.0) + (1 - alpha) * g
        s = s - st["m"] ** 2
    step = g / (math.sqrt(s) + eps)
    if momentum:
        st["b"] = momentum * st.get("b", 0.0) + step
        step = st["b"]
    return th - lr * step


def adagrad_rule(th, g, st, t, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    g = g + weight_decay * th
    st["G"] = st.get("G", initial_accumulator_value) + g * g
    return th - lr / (1 + (t - 1) * lr_decay) * g / (math.sqrt(st["G"]) + eps)


def adadelta_rule(th, g, st, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = g + weight_decay * th
    st["Eg"] = rho * st.get("Eg", 0.0) + (1 - rho) * g * g
    delta = math.sqrt(st.get("Ed", 0.0) + eps) / math.sqrt(st["Eg"] + eps) * g
    st["Ed"] = rho * st.get("Ed", 0.0) + (1 - rho) * delta * delta
    return th - lr * delta


def adam_rule(th, g, st, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled=False):
    b1, b2 = betas
    if decoupled:
        th = th * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * th
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g * g
    v = st["v"]
    if amsgrad:
        st["vmax"] = max(st.get("vmax", 0.0), v)
        v = st["vmax"]
    m_hat = st["m"] / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return th - lr * m_hat / (math.sqrt(v_hat) + eps)


optim = cr.optim
CASES = [
    ("gd", optim.GD, sgd_rule, {"lr": 0.1}),
    ("gd_decay", optim.GD, sgd_rule, {"lr": 0.1, "weight_decay": 0.05}),
    ("sgd_momentum", optim.SGD, sgd_rule, {"lr": 0.05, "momentum": 0.9}),
    ("sgd_dampening", optim.SGD, sgd_rule,
     {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd_nesterov", optim.SGD, sgd_rule,
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.02}),
    ("rmsprop", optim.RMSprop, rmsprop_rule, {"lr": 0.01}),
    ("rmsprop_all", optim.RMSprop, rmsprop_rule,
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1, "momentum": 0.7, "centered": True}),
    ("adagrad", optim.Adagrad, adagrad_rule, {"lr": 0.1}),
    ("adagrad_all", optim.Adagrad, adagrad_rule,
     {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.2, "eps": 1e-3}),
    ("adadelta", optim.Adadelta, adadelta_rule, {}),
    ("adadelta_all", optim.Adadelta, adadelta_rule,
     {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("adam", optim.Adam, adam_rule, {"lr": 0.01}),
    ("adam_all", optim.Adam, adam_rule,
     {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", optim.AdamW, adam_rule, {"lr": 0.01, "weight_decay": 0.1}),
]


def in_blocks(opt, block_size):
    opt.block_size = block_size  # small blocks: the rule runs on one row of THETA0 at a time
    return opt


@pytest.mark.parametrize("block_size", [32768, 4])
@pytest.mark.parametrize("name, cls, rule, hyper", CASES, ids=[c[0] for c in CASES])
def test_update_matches_the_formula_by_hand(name, cls, rule, hyper, block_size):
    path = run(lambda params: in_blocks(cls(params, **hyper), block_size), THETA0, wavy_grad, STEPS)
    rule_hyper = dict(hyper)
    if cls is optim.AdamW:
        rule_hyper["decoupled"] = True
        rule_hyper.setdefault("weight_decay", 1e-2)
    expected = hand_run(rule, rule_hyper)
    for t, (got, want) in enumerate(zip(path, expected), 1):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{name}, step {t}")
    assert not np.allclose(path[-1], THETA0)  # the parameters did move


def test_adamw_default_decay_is_decoupled_and_differs_from_adam_l2():
    adamw = run(lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1), THETA0, wavy_grad, 3)[-1]
    adam = run(lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1), THETA0, wavy_grad, 3)[-1]
    assert optim.AdamW().defaults["weight_decay"] == 1e-2
    assert not np.allclose(adamw, adam)


@pytest.mark.parametrize("name, cls, rule, hyper", CASES, ids=[c[0] for c in CASES])
def test_blocks_strided_parameters_and_gradients_give_the_same_update(name, cls, rule, hyper):
    rng = np.random.default_rng(1)
    theta0 = rng.normal(size=(7, 5))
    grads = [rng.normal(size=(7, 5)) for _ in range(3)]
    results = []
    for block_size, strided in ((10**6, False), (10, False), (10, True), (3, True)):
        if strided:  # the parameter and its gradients are transposed views, as matmul's vjp gives
            storage = np.ascontiguousarray(theta0.T)
            p = cr.Tensor(storage.T, requires_grad=True)
        else:
            p = cr.Tensor(theta0.copy(), requires_grad=True)
        opt = in_blocks(cls([p], **hyper), block_size)
        for g in grads:
            p.grad = cr.Tensor(np.ascontiguousarray(g.T).T if strided else g.copy())
            opt.step()
        if strided:
            np.testing.assert_array_equal(storage.T, p.numpy())  # updated in place, through the view
        results.append(p.numpy().copy())
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], rtol=1e-14, atol=1e-15)
