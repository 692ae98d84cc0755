"""Every optimiser steps a device model as it steps the same model on NumPy, its state on the device."""

import copy

import numpy as np
import pytest
from device_under_test import RTOL, DeviceArray, to_host, xp

import chainrule as cr
from chainrule import gpu, nn, optim

OPTIMISERS = {
    "GD": lambda ps: optim.GD(ps, lr=0.1, weight_decay=0.01),
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
    "Adadelta": lambda ps: optim.Adadelta(ps, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.01),
    "LBFGS": lambda ps: optim.LBFGS(ps, lr=0.5, max_iter=4, line_search_fn="strong_wolfe"),
}


def _train(model, make_optimiser, x, y, steps=3):
    optimiser = make_optimiser(model.parameters())
    loss_fn = nn.MSELoss()

    def closure():
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 10.0)
        optim.clip_grad_value_(model.parameters(), 5.0)
        return loss

    return [float(optimiser.step(closure)) for _ in range(steps)], optimiser



@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_optimiser_steps_on_the_device_as_on_numpy(name):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    device_model = gpu.move_module(copy.deepcopy(model), xp)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    host_losses, _ = _train(model, OPTIMISERS[name], cr.Tensor(x), cr.Tensor(y))
    device_losses, optimiser = _train(device_model, OPTIMISERS[name], cr.Tensor(xp.asarray(x)),
                                      cr.Tensor(xp.asarray(y)))
    np.testing.assert_allclose(device_losses, host_losses, rtol=max(RTOL, 1e-9))
    for p, q in zip(model.parameters(), device_model.parameters()):
        assert isinstance(q._data, DeviceArray)
        np.testing.assert_allclose(to_host(q._data), p._data, rtol=max(RTOL, 1e-9), atol=RTOL)
    for state in optimiser.state.values():
        for value in state.values():
            if hasattr(value, "shape") and value.shape:
                assert isinstance(value, DeviceArray), f"{name} keeps state on the host"
