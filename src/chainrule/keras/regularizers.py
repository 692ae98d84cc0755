"""``keras.regularizers``: penalties on weights or activations, with Keras 3's formulas and defaults.

    L1(l1=0.01)            l1 · Σ|x|
    L2(l2=0.01)            l2 · Σx²        (no ½, unlike ``cr.nn.regularization.l2_penalty``)
    L1L2(l1=0.0, l2=0.0)   l1 · Σ|x| + l2 · Σx²

``l1``, ``l2`` and ``l1_l2`` are the same classes under Keras's lower-case names. A layer given
``kernel_regularizer=`` / ``bias_regularizer=`` / ``activity_regularizer=`` lists the penalties in
its ``losses``, and ``Model.fit`` adds them to the training loss, as Keras does.
"""

from chainrule.errors import ConfigError
from chainrule.ops import elementwise, reduce


class Regularizer:
    """Base class: ``regularizer(x)`` is a scalar Tensor added to the loss."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}


class L1(Regularizer):
    def __init__(self, l1=0.01):
        self.l1 = float(l1)

    def __call__(self, x):
        return reduce.sum(elementwise.abs(x)) * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2=0.01):
        self.l2 = float(l2)

    def __call__(self, x):
        return reduce.sum(x * x) * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = reduce.sum(elementwise.abs(x)) * self.l1
        return penalty + reduce.sum(x * x) * self.l2

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from None, an instance or callable, a name ("l2"), or its saved form."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**identifier.get("config", {}))
    raise ConfigError(f"unknown regularizer {identifier!r}; hint: pass keras.regularizers.l2(0.01), or a "
                      "name: 'l1', 'l2', 'l1_l2'")


def serialize(regularizer):
    """The JSON-able form of a regularizer for model files (None stays None)."""
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer) or type(regularizer).__name__ not in _BY_NAME:
        raise ConfigError(f"cannot save the regularizer {regularizer!r}: only keras.regularizers L1, L2 and "
                          "L1L2 have a saved form; hint: save_weights() and rebuild the model in code")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
