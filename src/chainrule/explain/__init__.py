"""Why a network does what it does: worked steps, saliency maps, what units respond to, its graph.

- :func:`trace`: one training step of a small network, number by number, as a lecture shows it.
- :func:`saliency`: which input values the prediction depends on (gradient, SmoothGrad, integrated
  gradients); :func:`scores` gives the output it explains.
- :func:`top_activations`, :func:`maximize_activation`: the inputs that most excite a unit, and the
  input gradient ascent draws for it; :func:`activations` a layer's output on some data.
- :func:`graph`: the recorded graph of an output as Graphviz DOT text; :func:`render` draws it.

Pictures of these are in :mod:`chainrule.plots`.
"""

from chainrule.explain.features import TopActivations, activations, maximize_activation, top_activations
from chainrule.explain.graph import graph, render
from chainrule.explain.saliency_maps import saliency, scores
from chainrule.explain.trace import LayerStep, Trace, trace

__all__ = ["LayerStep", "TopActivations", "Trace", "activations", "graph", "maximize_activation", "render",
           "saliency", "scores", "top_activations", "trace"]
