"""The exceptions chainrule raises.

Each subclasses the built-in exception a Python user would catch anyway (ValueError for shapes,
TypeError for dtypes), so ``except ValueError`` keeps working, while ``except chainrule.ChainruleError``
catches only ours.
"""


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """Shapes that do not fit together: the message names the operation and every shape."""


class DTypeError(ChainruleError, TypeError):
    """A dtype that the operation cannot take, such as asking an integer tensor for a gradient."""


class GraphError(ChainruleError, RuntimeError):
    """Misuse of the autograd graph: backward through a freed graph, or from a non-scalar."""


class GradcheckError(ChainruleError, AssertionError):
    """An analytical derivative disagrees with central finite differences."""


class FormatError(ChainruleError, ValueError):
    """A file that is truncated, corrupted, or written by a newer version of chainrule."""


class ConfigError(ChainruleError, ValueError):
    """A setting chainrule does not know or cannot take: an unknown loss, optimiser, activation or
    initialiser name, or a hyperparameter out of its range. The message lists what is allowed."""


class DataError(ChainruleError, ValueError):
    """Data that training must not use as it is: NaN or inf in the inputs or targets."""


class AnomalyError(ChainruleError, FloatingPointError):
    """Under ``cr.autograd.detect_anomaly()``: an op's forward or backward produced NaN or inf. The
    message names the op and the line of code that made it."""
