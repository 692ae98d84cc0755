"""optim.lr_scheduler steps as PyTorch's: the sequences of rates are compared with torch's (#12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import lr_scheduler

SCHEDULES = {
    "step": (lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), 12),
    "multistep": (lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 12),
    "exponential": (lambda s, o: s.ExponentialLR(o, gamma=0.9), 10),
    "cosine": (lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 23),
    "lambda": (lambda s, o: s.LambdaLR(o, lr_lambda=lambda epoch: 0.95 ** epoch + 0.1 * (epoch % 2)), 10),
    "onecycle": (lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=20), 19),
    "onecycle_linear_3": (lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=7,
                                                    anneal_strategy="linear", three_phase=True), 20),
}


def _ours():
    a, b = cr.zeros(2, requires_grad=True), cr.zeros(3, requires_grad=True)
    return optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def _run(scheduler, optimizer, steps, change_at=None):
    lrs, momenta = [], []
    for t in range(steps):
        lrs.append([g["lr"] for g in optimizer.param_groups])
        momenta.append([g["momentum"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
        if t == change_at:
            optimizer.param_groups[0]["lr"] = 0.02
    return np.array(lrs), np.array(momenta)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_rates_match_torch(name):
    torch = pytest.importorskip("torch")
    make, steps = SCHEDULES[name]
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    theirs_opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)
    ours_opt = _ours()
    change_at = 4 if name in ("step", "exponential", "multistep") else None
    ours = _run(make(lr_scheduler, ours_opt), ours_opt, steps, change_at)
    theirs = _run(make(torch.optim.lr_scheduler, theirs_opt), theirs_opt, steps, change_at)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


def test_a_rate_set_by_hand_takes_effect_at_the_next_step():
    w = cr.ones(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=10)
    opt.param_groups[0]["lr"] = 0.5
    (w * 1.0).sum().backward()
    opt.step()
    scheduler.step()
    assert w.item() == pytest.approx(0.5) and scheduler.get_last_lr() == [0.5]


def test_onecycle_refuses_to_step_past_its_end_and_reduce_on_plateau_is_there():
    opt = _ours()
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="total_steps"):
        scheduler.step()
    plateau = lr_scheduler.ReduceLROnPlateau(_ours(), patience=0)
    plateau.step(1.0)
    plateau.step(2.0)
    assert plateau.get_last_lr() == pytest.approx([0.01, 0.005])
