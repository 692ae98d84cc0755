"""Schedules give the values of their formulas; Scheduler and ReduceLROnPlateau drive an optimiser."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import schedules

optim = cr.optim


def optimiser(lr=0.1, groups=None):
    p = cr.Tensor(np.zeros(2, np.float32), requires_grad=True)
    if groups:
        extra = [cr.Tensor(np.zeros(2, np.float32), requires_grad=True) for _ in groups]
        more = [{"params": [q], "lr": group_lr} for q, group_lr in zip(extra, groups)]
        return optim.SGD([{"params": [p]}, *more], lr=lr)
    return optim.SGD([p], lr=lr)


def test_each_schedule_follows_its_formula():
    ts = range(0, 40)
    cases = [
        (schedules.constant(0.3), lambda t: 0.3),
        (schedules.step(0.1, step_size=7, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 7)),
        (schedules.multi_step(0.1, milestones=[20, 5, 30], gamma=0.1),
         lambda t: 0.1 * (1.0 if t < 5 else 0.1 if t < 20 else 0.01 if t < 30 else 0.001)),
        (schedules.exponential(0.2, gamma=0.9), lambda t: 0.2 * 0.9**t),
        (schedules.inverse_time(0.5, tau=10.0), lambda t: 0.5 / (1.0 + t / 10.0)),
        (schedules.cosine(0.1, t_max=25, lr_min=0.01),
         lambda t: 0.01 + 0.045 * (1.0 + math.cos(math.pi * min(t, 25) / 25))),
    ]
    for schedule, formula in cases:
        for t in ts:
            assert schedule(t) == pytest.approx(formula(t), rel=1e-12), (schedule, t)
    cosine = schedules.cosine(0.1, t_max=25, lr_min=0.01)
    assert cosine(0) == pytest.approx(0.1) and cosine(25) == pytest.approx(0.01) == cosine(100)


def test_inverse_time_meets_robbins_monro_in_shape():
    # η_t ~ τη₀/t: the sum of η grows like log T (diverges), the sum of η² stays bounded
    schedule = schedules.inverse_time(1.0, tau=1.0)
    partial = [sum(schedule(t) for t in range(n)) for n in (10**2, 10**3, 10**4)]
    assert partial[2] - partial[1] == pytest.approx(math.log(10), rel=0.01)
    assert sum(schedule(t) ** 2 for t in range(10**4)) < math.pi**2 / 6 + 1.0


def test_linear_warmup_and_join_compose():
    base = schedules.cosine(0.1, t_max=10)
    warm = schedules.linear_warmup(base, warmup_steps=4, start=0.02)
    assert [warm(t) for t in range(4)] == pytest.approx([0.02, 0.04, 0.06, 0.08])
    assert [warm(t) for t in range(4, 16)] == pytest.approx([base(t) for t in range(12)])
    parts = [schedules.constant(0.1), schedules.exponential(0.05, 0.5), schedules.constant(0.0)]
    joined = schedules.join(parts, boundaries=[3, 6])
    assert [joined(t) for t in range(8)] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025, 0.0125, 0.0, 0.0])
    with pytest.raises(ValueError, match="boundaries"):
        schedules.join([schedules.constant(0.1)], boundaries=[3])


def test_scheduler_sets_the_optimiser_rate_and_resumes():
    opt = optimiser(lr=1.0, groups=[2.0])
    scheduler = optim.Scheduler(opt, schedules.exponential(0.1, gamma=0.5))
    assert opt.lr == pytest.approx(0.1)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.2)  # keeps its ratio to the first group
    for _ in range(3):
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.0125, 0.025])
    saved = scheduler.state_dict()
    other_opt = optimiser(lr=1.0, groups=[2.0])
    other = optim.Scheduler(other_opt, schedules.exponential(0.1, gamma=0.5))
    other.load_state_dict(saved)
    other.step()
    scheduler.step()
    assert other.get_last_lr() == pytest.approx([0.00625, 0.0125])
    assert scheduler.get_last_lr() == pytest.approx([0.00625, 0.0125])
    with pytest.raises(ValueError, match="bind"):
        optim.Scheduler(optim.Adam(), schedules.constant(0.1))


def test_scheduler_accepts_any_function_of_the_step():
    opt = optimiser()
    scheduler = optim.Scheduler(opt, lambda t: 0.5 / (1 + t))
    scheduler.step()
    scheduler.step()
    assert opt.lr == pytest.approx(0.5 / 3)


def test_reduce_on_plateau_by_hand():
    opt = optimiser(lr=1.0)
    plateau = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    # epoch:  0: best=10   1: bad 1   2: bad 2   3: bad 3 > 2 -> 0.5, cooldown 1
    #         4: cooldown (bad reset)   5: bad 1   6: bad 2   7: bad 3 -> 0.25   8: cd   ...  -> floor 0.2
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]
    for epoch, want in enumerate(expected):
        plateau.step(10.0)
        assert opt.lr == pytest.approx(want), epoch
    plateau.step(5.0)  # an improvement resets the count
    assert plateau.num_bad_epochs == 0 and plateau.best == 5.0
    # relative threshold: 4.9996 is not better than 5 · (1 − 1e-4)
    plateau.step(4.9996)
    assert plateau.num_bad_epochs == 1
