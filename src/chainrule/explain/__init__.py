"""Why a network does what it does: worked steps, saliency maps, what units respond to, its graph.

- :func:`trace`: one training step of a small network, number by number, as a lecture shows it.
- :func:`saliency`: which input values the prediction depends on (gradient, SmoothGrad, integrated
  gradients).
- :func:`top_activations`, :func:`maximize_activation`: the inputs that most excite a unit, and the
  input an optimiser draws for it.
- :func:`graph`: the recorded graph of an output as Graphviz DOT text.

Pictures of these are in :mod:`chainrule.plots`.
"""

from chainrule.explain.saliency_maps import saliency, scores
from chainrule.explain.trace import LayerStep, Trace, trace

__all__ = ["LayerStep", "Trace", "saliency", "scores", "trace"]
