"""XOR with one hidden layer: a 2-2-1 sigmoid network.

No single threshold unit computes XOR (see ``chainrule.zoo.perceptron``); two hidden units do: one
acts like OR, one like AND, and the output fires for "OR and not AND". The textbook's trained
network has hidden weights (3.7, 3.7; bias −1.5) and (2.9, 2.9; bias −4.5) and output weights
(4.5, −5.2; bias −2.0): for input (1, 0) its hidden outputs are 0.90 and 0.17 and its output 0.76.
"""

import numpy

from chainrule import nn
from chainrule.nn.losses import sse_loss  # E = ½·Σ(target − out)²
from chainrule.random import generator
from chainrule.zoo.entry import ZooModel

INPUTS = numpy.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TARGETS = numpy.array([[0.0], [1.0], [1.0], [0.0]])

TEXTBOOK_HIDDEN_WEIGHTS = ((3.7, 3.7), (2.9, 2.9))
TEXTBOOK_HIDDEN_BIAS = (-1.5, -4.5)
TEXTBOOK_OUTPUT_WEIGHTS = ((4.5, -5.2),)
TEXTBOOK_OUTPUT_BIAS = (-2.0,)


def build(textbook=False):
    """The 2-2-1 sigmoid network; with ``textbook=True`` it holds the textbook's weights (float64).

    Untrained, its weights and biases are drawn uniformly from (−1, 1) (the classic choice for XOR)
    from chainrule's seeded generator.
    """
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    if not textbook:
        for p in model.parameters():
            p.data[...] = generator().uniform(-1.0, 1.0, size=p.shape)
    else:
        model.double()
        model[0].weight.data[...] = TEXTBOOK_HIDDEN_WEIGHTS
        model[0].bias.data[...] = TEXTBOOK_HIDDEN_BIAS
        model[2].weight.data[...] = TEXTBOOK_OUTPUT_WEIGHTS
        model[2].bias.data[...] = TEXTBOOK_OUTPUT_BIAS
    return model


def explain(log):
    """``chainrule explain xor``: the textbook network on input (1, 0), then one update (t = 1, η = 10)."""
    from chainrule.explain import trace

    step = trace(build(textbook=True), numpy.array([1.0, 0.0]), numpy.array([1.0]),
                 loss=sse_loss, lr=10.0)
    hidden, output = step.layers[0].out[0], step.layers[1].out[0]
    log("The textbook XOR network, input (1, 0):")
    log(f"  hidden outputs {hidden[0]:.2f} and {hidden[1]:.2f}, output {output[0]:.2f}")
    log("One backpropagation update with target 1.0 and learning rate 10, E = ½(t − out)²:")
    log("")
    log(step.render(digits=4))


def fit_xor(model, epochs=2000, lr=5.0):
    """Full-batch gradient descent on the four points with E = ½·Σ(t − out)²; returns the errors.

    Trained by ``Model.fit`` (the one training loop) with one batch of all four points per epoch,
    so epoch k's reported loss is the error of the weights before that epoch's update.
    """
    import chainrule as cr

    dtype = model[0].weight.dtype
    trainer = cr.Model(model)  # shares the network's parameters: fit updates ``model`` itself
    trainer.compile(loss=sse_loss, optimizer=cr.optim.GD(lr=lr))
    history = trainer.fit(INPUTS.astype(dtype), TARGETS.astype(dtype), batch_size=len(INPUTS), epochs=epochs,
                          shuffle=False, verbose=0)
    return history.history["loss"]


def accuracy(model):
    """The fraction of the four points the network gets right (output rounded at 0.5)."""
    from chainrule.autograd.tensor import Tensor

    out = model(Tensor(INPUTS.astype(model[0].weight.dtype))).numpy()
    return float(numpy.mean((out > 0.5) == (TARGETS > 0.5)))


def smoke_test():
    model = build()
    errors = fit_xor(model, epochs=20)
    return errors[0], errors[-1]


def learn_xor(epochs=2000, lr=5.0, attempts=5):
    """Train from random weights; restart (up to ``attempts`` times) when stuck in a local minimum.

    XOR's error surface has flat regions and local minima where one of the four points stays wrong
    (about one start in six lands there): a fresh start is the simple cure. Returns
    ``(model, errors of the last attempt, number of attempts used)``.
    """
    for attempt in range(1, attempts + 1):  # noqa: B007 - the count of attempts is returned
        model = build()
        errors = fit_xor(model, epochs=epochs, lr=lr)
        if accuracy(model) == 1.0:
            break
    return model, errors, attempt


def train(options, log):
    """Learn XOR from random weights."""
    from chainrule.random import manual_seed

    manual_seed(options.seed)
    epochs = options.get("epochs", 2000)
    model, errors, attempts = learn_xor(epochs=epochs, lr=options.get("lr", 5.0))
    if attempts > 1:
        log(f"(restarted {attempts - 1} time(s) from fresh random weights: stuck in a local minimum)")
    for epoch in sorted({1, *range(max(1, epochs // 5), epochs + 1, max(1, epochs // 5)), epochs}):
        log(f"epoch {epoch}: error {errors[epoch - 1]:.6f}")
    acc = accuracy(model)
    log(f"accuracy on the four points: {acc:.2f}")
    from chainrule.zoo.keras_run import save_decision_boundary

    path = save_decision_boundary(model, INPUTS, TARGETS, options, "xor", log, "2-2-1 network on XOR")
    files = {} if path is None else {"decision boundary": path}
    return {"accuracy": acc, "error": errors[-1], "files": files}


XOR = ZooModel(name="xor", summary="a 2-2-1 sigmoid network that learns XOR", build=build,
               smoke_test=smoke_test, train=train, explain=explain)
