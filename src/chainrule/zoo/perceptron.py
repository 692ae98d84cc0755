"""Rosenblatt's perceptron: a threshold unit that learns from its mistakes.

For each sample with target t ∈ {0, 1} and output y = [w·x ≥ θ]:

    w ← w + η (t − y) x,      θ ← θ − η (t − y)

When the classes can be split by a line (hyperplane) the rule converges after finitely many
mistakes (the perceptron convergence theorem); on XOR no line exists, so it never does, and that is
why networks need hidden layers.
"""

import numpy

from chainrule.random import generator
from chainrule.zoo.entry import ZooModel
from chainrule.zoo.tlu import ThresholdUnit

XOR_INPUTS = numpy.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = numpy.array([0.0, 1.0, 1.0, 0.0])


def perceptron(inputs):
    """A threshold unit with zero weights and θ = 0, ready to learn."""
    return ThresholdUnit(numpy.zeros(inputs), 0.0)


def fit_perceptron(unit, x, y, lr=1.0, max_epochs=100):
    """Apply the perceptron rule sample by sample until an epoch makes no mistake.

    Returns ``(converged, mistakes)``: whether it converged, and the number of mistakes in each
    epoch. The unit's weight and threshold are updated in place.
    """
    x = numpy.asarray(x, dtype=numpy.float64)
    y = numpy.asarray(y, dtype=numpy.float64)
    mistakes = []
    for _ in range(max_epochs):
        wrong = 0
        for sample, target in zip(x, y):
            output = float(sample @ unit.weight.numpy() >= unit.threshold)
            if output != target:
                wrong += 1
                unit.weight.data += lr * (target - output) * sample
                unit.threshold -= lr * (target - output)
        mistakes.append(wrong)
        if wrong == 0:
            return True, mistakes
    return False, mistakes


def separable_data(samples=100, margin=0.1):
    """Points in the unit square labelled 1 above the line x2 = 0.5·x1 + 0.25, none within ``margin``."""
    rng = generator()
    points = []
    while len(points) < samples:
        p = rng.uniform(0.0, 1.0, size=2)
        if abs(p[1] - (0.5 * p[0] + 0.25)) >= margin:
            points.append(p)
    x = numpy.array(points)
    return x, (x[:, 1] > 0.5 * x[:, 0] + 0.25).astype(numpy.float64)


def build(inputs=2):
    return perceptron(inputs)


def smoke_test():
    """Mistakes in the first epoch and in the last, on separable data."""
    x, y = separable_data(40)
    _, mistakes = fit_perceptron(perceptron(2), x, y, max_epochs=50)
    return float(mistakes[0]), float(mistakes[-1])


def train(options, log):
    """Learn separable points (converges), then XOR (does not)."""
    from chainrule.random import manual_seed

    manual_seed(options.seed)
    epochs = options.get("epochs", 100)
    lr = options.get("lr", 1.0)
    x, y = separable_data(options.get("limit", 100))
    unit = perceptron(2)
    converged, mistakes = fit_perceptron(unit, x, y, lr=lr, max_epochs=epochs)
    more = " ..." if len(mistakes) > 10 else ""
    log(f"separable data ({len(x)} points): mistakes per epoch {mistakes[:10]}{more}")
    weights = ", ".join(f"{w:.3f}" for w in unit.weight.numpy())
    log(f"  {'converged' if converged else 'not converged'} after {len(mistakes)} epochs: "
        f"weights ({weights}), θ = {unit.threshold:.3f}")
    xor_unit = perceptron(2)
    xor_converged, xor_mistakes = fit_perceptron(xor_unit, XOR_INPUTS, XOR_TARGETS, lr=lr, max_epochs=epochs)
    log(f"XOR: {'converged' if xor_converged else 'not converged'} after {len(xor_mistakes)} epochs "
        f"(mistakes in the last epoch: {xor_mistakes[-1]}): no line separates XOR, a hidden layer is needed")
    from chainrule.zoo.keras_run import save_decision_boundary

    files = {}
    for name, model, points, labels, title in [
            ("perceptron", unit, x, y, "perceptron on separable points"),
            ("perceptron_xor", xor_unit, XOR_INPUTS, XOR_TARGETS, "perceptron on XOR: no line fits")]:
        path = save_decision_boundary(model, points, labels, options, name, log, title)
        if path is not None:
            files[f"decision boundary ({name})"] = path
    return {"converged": converged, "xor_converged": xor_converged, "files": files}


PERCEPTRON = ZooModel(name="perceptron", summary="Rosenblatt's rule: converges on separable data, not on XOR",
                      build=build, smoke_test=smoke_test, train=train, input_shape=(2,))
