"""A shared helper for the LSTM kernel tests: one float32 training step's outputs and gradients."""

import numpy as np

import chainrule as cr
import chainrule.nn as nn


def lstm_step(bidirectional, sequences=4):
    """Outputs and gradients of one float32 two-layer LSTM forward + backward, from a fixed seed."""
    cr.manual_seed(0)
    lstm = nn.LSTM(6, 9, num_layers=2, bidirectional=bidirectional, batch_first=True)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((sequences, 11, 6)).astype(np.float32), requires_grad=True)
    out, (h, c) = lstm(x)
    weights = cr.tensor(rng.standard_normal(out.shape).astype(np.float32))
    ((out * weights).sum() + (h * h).sum() + c.sum()).backward()
    return [out.data, h.data, c.data, x.grad.data] + [p.grad.data for p in lstm.parameters()]
