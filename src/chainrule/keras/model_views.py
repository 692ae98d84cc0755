"""What Keras users read off a model: ``summary()`` (printed, returning None as Keras's), the names of
``evaluate``'s values, the input and output shapes, and layers by name or index."""

import numpy

from chainrule.autograd.mode import no_grad
from chainrule.errors import ChainruleError
from chainrule.keras.layers import base
from chainrule.train import model as engine


class ModelViews:
    """Mixed into ``keras.Model`` (and so ``keras.Sequential``)."""

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None, input_shape=None):
        """Keras's table of layers, output shapes and parameter counts, printed (or handed to
        ``print_fn``); returns None, as Keras's does (a notebook shows the table once)."""
        base.check_keywords(f"{type(self).__name__}.summary", {
            "positions": positions, "expand_nested": expand_nested, "show_trainable": show_trainable,
            "layer_range": layer_range})
        engine.Model.summary(self, input_shape=input_shape, print_fn=print_fn, line_length=line_length or 65)

    @property
    def metrics_names(self):
        """The names of ``evaluate``'s values, in order: "loss", then the metrics."""
        return [m.name for m in self.metrics]

    @property
    def input_shape(self):
        """``(None, ...)`` of the input (a list of them for several inputs), once known."""
        spec = self._known_input_spec()
        if spec is None:
            # not AttributeError: a property's AttributeError would turn into "no attribute input_shape"
            raise ChainruleError(f"{type(self).__name__} '{self.name}': the input shape is not known yet; "
                                 "hint: start with keras.Input(shape=...) or call the model on data")
        return [tuple(s["shape"]) for s in spec] if isinstance(spec, list) else tuple(spec["shape"])

    @property
    def output_shape(self):
        """``(None, ...)`` of the output (a list for several outputs): the graph's, else one dry run."""
        graph = self.__dict__.get("_graph")
        outputs = None if graph is None else graph.outputs[0] if graph.single_output else graph.outputs
        if outputs is None:
            spec = self._known_input_spec()
            specs = spec if isinstance(spec, list) else [spec or {"shape": list(self.input_shape)}]
            zeros = [numpy.zeros([1 if n is None else n for n in s["shape"]], s.get("dtype", "float32"))
                     for s in specs]
            with no_grad():
                outputs = self(*zeros, training=False)
        if isinstance(outputs, (list, tuple)):
            return [(None, *o.shape[1:]) for o in outputs]
        return (None, *outputs.shape[1:])

    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            return layers[index]
        for layer in layers:
            if getattr(layer, "name", None) == name:
                return layer
        names = [getattr(layer, "name", None) for layer in layers]
        raise ValueError(f"No such layer: {name}. Existing layers are: {names}")
