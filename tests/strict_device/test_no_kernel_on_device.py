"""No faster form (Numba, MKL) is handed a device array: the seam sends device ops to the reference."""

import numpy as np
from device_under_test import xp

import chainrule as cr
from chainrule import gpu, nn
from chainrule.autograd import seam


def test_a_device_training_step_picks_no_kernel(monkeypatch):
    picked = []
    choose = seam.kernel_for

    def spy(cls, module, arrays, op=None):
        kernel = choose(cls, module, arrays, op)
        if kernel is not None and any(type(a).__module__ != "numpy" and hasattr(a, "shape") for a in arrays):
            picked.append(cls.__name__)
        return kernel

    monkeypatch.setattr(seam, "kernel_for", spy)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 5), nn.LogSoftmax())
    gpu.move_module(model, xp)
    optimiser = cr.optim.Adam(model.parameters())
    x = cr.Tensor(xp.asarray(np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)))
    loss = nn.NLLLoss()(model(x), cr.Tensor(xp.asarray(np.array([0, 1, 4]))))
    loss.backward()
    optimiser.step()
    embedding, lstm = nn.Embedding(7, 3), nn.LSTM(3, 4, batch_first=True)
    gpu.move_module(embedding, xp)
    gpu.move_module(lstm, xp)
    lstm(embedding(cr.Tensor(xp.asarray(np.array([[1, 2, 3], [4, 5, 6]])))))[0].sum().backward()
    assert picked == []
