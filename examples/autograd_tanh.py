"""Autograd by hand: a small tanh network fitted to sin(x) with plain gradient descent.

No layers, no optimiser: weights are tensors that require a gradient, the loss is built from
operations, ``loss.backward()`` fills every ``.grad``, and we update the weights ourselves.

    python examples/autograd_tanh.py            # 2,000 steps, writes autograd_tanh_loss.png
    python examples/autograd_tanh.py --quick    # 50 steps (what the tests run)
"""

import os
import sys

import numpy as np

import chainrule as cr

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
STEPS = 50 if QUICK else 2000
HIDDEN = 16
LEARNING_RATE = 0.05

cr.manual_seed(0)

# the data: 64 points of sin(x) on [-3, 3], as columns (samples, 1)
x = cr.tensor(np.linspace(-3, 3, 64, dtype=np.float32).reshape(-1, 1))
y = cr.sin(x)

# the parameters: y_hat = tanh(x W1 + b1) W2 + b2
W1 = cr.randn(1, HIDDEN) * 0.5
b1 = cr.zeros(HIDDEN)
W2 = cr.randn(HIDDEN, 1) * 0.5
b2 = cr.zeros(1)
parameters = [W1, b1, W2, b2]
for p in parameters:
    p.requires_grad_()

losses = []
for step in range(STEPS):
    hidden = cr.tanh(x @ W1 + b1)
    y_hat = hidden @ W2 + b2
    loss = ((y_hat - y) ** 2).mean()        # mean squared error

    for p in parameters:                    # gradients accumulate: clear last step's first
        p.grad = None
    loss.backward()                         # d loss / d p for every p, by the chain rule

    with cr.no_grad():                      # the update itself is not part of the graph
        for p in parameters:
            p.data -= LEARNING_RATE * p.grad.data
    losses.append(loss.item())
    if step % max(1, STEPS // 10) == 0:
        print(f"step {step:5d}: loss {loss.item():.5f}")

print(f"final loss: {losses[-1]:.5f} (started at {losses[0]:.5f})")

from chainrule import plots  # noqa: E402 - matplotlib is needed only from here on

curve = plots.loss_curve({"loss": losses}, "autograd_tanh_loss.png", title="tanh network on sin(x)")
print("loss curve:", curve)
