"""Threshold logic units: fixed weights and a threshold θ; the output is 1 when Σ wᵢxᵢ ≥ θ.

The course's two units: x1 AND x2 with weights (3, 2) and θ = 4, and the implication x2 → x1 with
weights (2, −2) and θ = −1. A unit has no gradient (its step has derivative 0 almost everywhere);
it learns with the perceptron rule instead (see ``chainrule.zoo.perceptron``).
"""

import itertools

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.zoo.entry import ZooModel


class ThresholdUnit(Module):
    """y = 1 if Σ wᵢxᵢ ≥ θ else 0, for a batch x of shape (batch, inputs)."""

    def __init__(self, weights, threshold):
        super().__init__()
        self.weight = Parameter(numpy.asarray(weights, dtype=numpy.float64), requires_grad=False)
        self.threshold = float(threshold)

    def weighted_sum(self, x):
        """Σ wᵢxᵢ for each row of x, as a NumPy array."""
        data = x.numpy() if isinstance(x, Tensor) else numpy.asarray(x, dtype=numpy.float64)
        return data @ self.weight.numpy()

    def forward(self, x):
        return Tensor((self.weighted_sum(x) >= self.threshold).astype(numpy.float64))

    def get_config(self):
        return {"weights": self.weight.numpy().tolist(), "threshold": self.threshold}

    def extra_repr(self):
        return f"weights={self.weight.numpy().tolist()}, threshold={self.threshold:g}"


def and_unit():
    """x1 AND x2: weights (3, 2), θ = 4."""
    return ThresholdUnit([3.0, 2.0], 4.0)


def implication_unit():
    """x2 → x1 (false only for x1 = 0, x2 = 1): weights (2, −2), θ = −1."""
    return ThresholdUnit([2.0, -2.0], -1.0)


def truth_table(unit):
    """[(inputs, weighted sum, output), ...] over every binary input row, in counting order."""
    inputs = len(unit.weight.numpy())
    rows = numpy.array(list(itertools.product([0.0, 1.0], repeat=inputs)))
    sums = unit.weighted_sum(rows)
    outputs = unit(rows).numpy()
    return [(tuple(int(v) for v in row), float(s), int(y)) for row, s, y in zip(rows, sums, outputs)]


def render_truth_table(title, unit):
    """The truth table as text: one line per input row with the weighted sum and the output."""
    names = [f"x{i + 1}" for i in range(len(unit.weight.numpy()))]
    weights = ", ".join(f"{w:g}" for w in unit.weight.numpy())
    lines = [f"{title}: weights ({weights}), threshold θ = {unit.threshold:g}",
             "  " + "  ".join(names) + "   Σ w·x   output (Σ ≥ θ)"]
    for row, total, output in truth_table(unit):
        cells = "  ".join(f"{v:>{len(n)}d}" for v, n in zip(row, names))
        lines.append(f"  {cells}   {total:>5g}   {output}")
    return "\n".join(lines)


def explain(log):
    """``chainrule explain tlu``: both truth tables."""
    log(render_truth_table("x1 AND x2", and_unit()))
    log("")
    log(render_truth_table("x2 → x1 (implication)", implication_unit()))


def build(kind="and"):
    """The AND unit (``kind="and"``) or the implication unit (``kind="implication"``)."""
    units = {"and": and_unit, "implication": implication_unit}
    if kind not in units:
        raise ValueError(f"tlu: unknown kind {kind!r}: choose 'and' or 'implication'")
    return units[kind]()


def smoke_test():
    """A unit that starts at zero learns AND with the perceptron rule: errors before and after."""
    from chainrule.zoo.perceptron import fit_perceptron, perceptron

    x = numpy.array(list(itertools.product([0.0, 1.0], repeat=2)))
    y = numpy.array([0.0, 0.0, 0.0, 1.0])
    unit = perceptron(2)
    before = float(numpy.sum(unit(x).numpy() != y))
    fit_perceptron(unit, x, y, max_epochs=20)
    return before, float(numpy.sum(unit(x).numpy() != y))


def train(options, log):
    """The units have fixed weights, nothing to learn: show what they compute."""
    from chainrule.zoo.keras_run import save_decision_boundary

    log("tlu: threshold units have fixed weights; nothing to train. Their truth tables:")
    explain(log)
    files = {}
    corners = numpy.array(list(itertools.product([0.0, 1.0], repeat=2)))
    for kind, unit, title in [("and", and_unit(), "x1 AND x2: 3·x1 + 2·x2 ≥ 4"),
                              ("implication", implication_unit(), "x2 → x1: 2·x1 − 2·x2 ≥ −1")]:
        path = save_decision_boundary(unit, corners, unit(corners).data, options, f"tlu_{kind}", log, title)
        if path is not None:
            files[f"decision boundary ({kind})"] = path
    return {"and": truth_table(and_unit()), "implication": truth_table(implication_unit()), "files": files}


TLU = ZooModel(name="tlu", summary="threshold logic units: AND (3, 2; θ=4) and x2 → x1 (2, −2; θ=−1)",
               build=build, smoke_test=smoke_test, train=train, explain=explain, input_shape=(2,))
