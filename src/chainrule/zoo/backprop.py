"""The classic step-by-step backpropagation example, every number of it.

Two inputs, two sigmoid hidden neurons, two sigmoid outputs; inputs (0.05, 0.10), targets
(0.01, 0.99), weights w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55 (numbered row by row:
w1 = x1 → h1, w2 = x2 → h1, w3 = x1 → h2, ...), biases 0.35 (hidden) and 0.60 (output), error
E = ½·Σ(target − out)², learning rate 0.5. As in the lecture the biases are held fixed. Computed in
float64 so that nine digits hold. (The error after the update is 0.291027774; the lecture prints
0.291027924, having carried rounded intermediate values.)
"""

import numpy

from chainrule import nn
from chainrule.nn.losses import sse_loss  # E = ½·Σ(target − out)²
from chainrule.zoo.entry import ZooModel

INPUTS = (0.05, 0.10)
TARGETS = (0.01, 0.99)
HIDDEN_WEIGHTS = ((0.15, 0.20), (0.25, 0.30))  # (out, in), as PyTorch lays out a Linear
OUTPUT_WEIGHTS = ((0.40, 0.45), (0.50, 0.55))
HIDDEN_BIAS = 0.35
OUTPUT_BIAS = 0.60
LEARNING_RATE = 0.5



def build(train_biases=False):
    """The lecture's 2-2-2 sigmoid network with its starting weights, in float64."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Sigmoid()).double()
    hidden, output = model[0], model[2]
    hidden.weight.data[...] = HIDDEN_WEIGHTS
    hidden.bias.data[...] = HIDDEN_BIAS
    output.weight.data[...] = OUTPUT_WEIGHTS
    output.bias.data[...] = OUTPUT_BIAS
    for layer in (hidden, output):
        layer.bias.requires_grad_(train_biases)
    return model


def trace_step(model=None):
    """One traced gradient-descent step of the lecture's network (a ``chainrule.explain.Trace``)."""
    from chainrule.explain import trace

    model = build() if model is None else model
    return trace(model, numpy.array(INPUTS), numpy.array(TARGETS), loss=sse_loss,
                 lr=LEARNING_RATE)


def explain(log):
    """``chainrule explain backprop``: the whole step to nine digits."""
    log("The step-by-step backpropagation example: inputs (0.05, 0.10), targets (0.01, 0.99),")
    log("E = ½·Σ(target − out)², learning rate η = 0.5, biases held fixed (as in the lecture).")
    log("")
    log(trace_step().render(digits=9))


def smoke_test():
    """The error before and after a few gradient steps (the update makes it go down)."""
    model = build()
    first = trace_step(model)
    last = first
    for _ in range(4):
        last = trace_step(model)
    return first.loss, last.loss_after


def train(options, log):
    """Repeat the lecture's step ``--epochs`` times (default 10000) and show the error falling."""
    from chainrule.explain import trace

    epochs = options.get("epochs", 10000)
    lr = options.get("lr", LEARNING_RATE)
    model = build()
    x, t = numpy.array(INPUTS), numpy.array(TARGETS)
    step = None
    for epoch in range(1, epochs + 1):
        step = trace(model, x, t, loss=sse_loss, lr=lr)
        if epoch == 1 or epoch == epochs or epoch % max(1, epochs // 10) == 0:
            log(f"epoch {epoch}: error {step.loss_after:.9f}")
    outputs = ", ".join(f"{o:.6f}" for o in step.output[0])
    log(f"outputs ({outputs}) for targets (0.01, 0.99)")
    return {"error": step.loss_after}


BACKPROP = ZooModel(name="backprop", summary="the classic 2-2-2 sigmoid network, one step to nine digits",
                    build=build, smoke_test=smoke_test, train=train, explain=explain)
