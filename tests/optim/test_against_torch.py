"""Step-by-step agreement with torch.optim on the same float32 tensors and gradients.

Skipped where torch is not installed.
"""

import numpy as np
import pytest
from optim_problems import rosenbrock, rosenbrock_grad, run, wavy_grad

import chainrule as cr

torch = pytest.importorskip("torch")

THETA0 = np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, 1.5]], dtype=np.float32)
STEPS = 5
optim = cr.optim

CASES = [
    ("SGD", optim.SGD, {"lr": 0.05}),
    ("SGD", optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", optim.SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.4}),
    ("SGD", optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.02}),
    ("RMSprop", optim.RMSprop, {"lr": 0.01}),
    ("RMSprop", optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "momentum": 0.5}),
    ("RMSprop", optim.RMSprop, {"lr": 0.01, "centered": True}),
    ("RMSprop", optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.9, "eps": 1e-4}),
    ("Adagrad", optim.Adagrad, {"lr": 0.1}),
    ("Adagrad", optim.Adagrad,
     {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("Adadelta", optim.Adadelta, {}),
    ("Adadelta", optim.Adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adam", optim.Adam, {"lr": 0.01}),
    ("Adam", optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("Adam", optim.Adam, {"lr": 0.01, "amsgrad": True}),
    ("AdamW", optim.AdamW, {"lr": 0.01}),
    ("AdamW", optim.AdamW, {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True}),
]


def torch_run(name, hyper, theta0, grad_fn, steps):
    p = torch.nn.Parameter(torch.tensor(theta0))
    opt = getattr(torch.optim, name)([p], **hyper)
    path = []
    for _ in range(steps):
        p.grad = torch.tensor(grad_fn(p.detach().numpy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return path


@pytest.mark.parametrize("name, cls, hyper", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_step_by_step(name, cls, hyper):
    ours = run(lambda params: cls(params, **hyper), THETA0, wavy_grad, STEPS)
    theirs = torch_run(name, hyper, THETA0, wavy_grad, STEPS)
    for t, (got, want) in enumerate(zip(ours, theirs), 1):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} {hyper}, step {t}")


def test_param_groups_match_torch():
    a0, b0 = THETA0[0].copy(), THETA0[1].copy()
    ours_a, ours_b = cr.Tensor(a0.copy(), requires_grad=True), cr.Tensor(b0.copy(), requires_grad=True)
    theirs_a, theirs_b = torch.nn.Parameter(torch.tensor(a0)), torch.nn.Parameter(torch.tensor(b0))
    ours = optim.SGD([{"params": [ours_a]}, {"params": [ours_b], "lr": 0.2, "momentum": 0.5}],
                     lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [theirs_a]}, {"params": [theirs_b], "lr": 0.2, "momentum": 0.5}],
                             lr=0.05, momentum=0.9)
    for _ in range(STEPS):
        for ours_p, theirs_p in ((ours_a, theirs_a), (ours_b, theirs_b)):
            g = wavy_grad(ours_p.numpy())
            ours_p.grad = cr.Tensor(g)
            theirs_p.grad = torch.tensor(wavy_grad(theirs_p.detach().numpy()))
        ours.step()
        theirs.step()
        np.testing.assert_allclose(ours_a.numpy(), theirs_a.detach().numpy(), rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(ours_b.numpy(), theirs_b.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_lbfgs_without_line_search_matches_torch():
    theta0 = np.array([-1.2, 1.0])  # float64 on both sides: the comparison is about the algorithm
    ours_p = cr.Tensor(theta0.copy(), requires_grad=True)
    theirs_p = torch.nn.Parameter(torch.tensor(theta0))
    ours = optim.LBFGS([ours_p], lr=0.5, max_iter=4, history_size=3)
    theirs = torch.optim.LBFGS([theirs_p], lr=0.5, max_iter=4, history_size=3)

    def ours_closure():
        ours_p.grad = cr.Tensor(rosenbrock_grad(ours_p.numpy()))
        return rosenbrock(ours_p.numpy())

    def theirs_closure():
        x = theirs_p.detach().numpy()
        theirs_p.grad = torch.tensor(rosenbrock_grad(x))
        return torch.tensor(rosenbrock(x))

    for call in range(4):
        loss_ours = ours.step(ours_closure)
        loss_theirs = theirs.step(theirs_closure)
        assert loss_ours == pytest.approx(float(loss_theirs), rel=1e-9)
        np.testing.assert_allclose(ours_p.numpy(), theirs_p.detach().numpy(), rtol=1e-9,
                                   err_msg=f"call {call}")
    state_ours, state_theirs = ours.state[ours_p], theirs.state[theirs_p]
    assert state_ours["func_evals"] == state_theirs["func_evals"]
    assert state_ours["n_iter"] == state_theirs["n_iter"]


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5]
    for kwargs in ({"patience": 2}, {"patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": 0.02},
                   {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.5}):
        ours_opt = optim.SGD([cr.Tensor(np.zeros(2, np.float32), requires_grad=True)], lr=1.0)
        theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0)
        ours = optim.ReduceLROnPlateau(ours_opt, **kwargs)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
        for epoch, metric in enumerate(metrics):
            ours.step(metric)
            theirs.step(metric)
            assert ours_opt.lr == pytest.approx(theirs_opt.param_groups[0]["lr"]), (kwargs, epoch)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=5).astype(np.float32)]
    for norm_type in (2.0, 1.0, 3.0, float("inf")):
        ours = [cr.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
        theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        for o, t, g in zip(ours, theirs, grads):
            o.grad, t.grad = cr.Tensor(g.copy()), torch.tensor(g)
        total = optim.clip_grad_norm_(ours, 1.5, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
        assert total == pytest.approx(float(expected), rel=1e-5)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)
