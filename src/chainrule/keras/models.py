"""``keras.models``: Keras's ``Sequential``, functional ``Model(inputs, outputs)`` and ``load_model``.

Both are the engine's :class:`chainrule.train.Model` (one training loop) with Keras's signatures on
top: ``compile(optimizer, loss, metrics)`` resolving names to :mod:`chainrule.keras.optimizers`
(Keras's formulas), ``fit(batch_size=None, class_weight=, sample_weight=)`` with Keras's
``validation_split`` (the last fraction of the samples), and weights in Keras's layout. Penalties
of regularized layers join the loss in the engine's ``train_step``. A functional model may have
several inputs (data as a list or a dict by Input name: :mod:`chainrule.keras.model_data`) and
several outputs (a loss per output: :mod:`chainrule.keras.multi_output`), and saves whole (its
wiring: :mod:`chainrule.keras.graph_config`). Calls follow Keras's ``training`` argument
(:mod:`chainrule.keras.layers.training_mode`).
"""

import functools
import inspect
import math

import numpy

from chainrule.backend import DEFAULT_FLOAT
from chainrule.data import DataLoader
from chainrule.errors import ChainruleError, ConfigError, FormatError, ShapeError
from chainrule.keras import graph_config
from chainrule.keras import losses as keras_losses
from chainrule.keras import metrics as keras_metrics
from chainrule.keras import optimizers as keras_optimizers
from chainrule.keras.layers import base, training_mode
from chainrule.keras.layers.functional import Graph, InputLayer, KerasTensor, symbolic_in
from chainrule.keras.model_data import (
    ArrayGroup,
    Samples,
    WeightedTargets,
    arrays,
    several_inputs,
    several_targets,
    weighted_samples,
)
from chainrule.keras.model_views import ModelViews
from chainrule.keras.multi_output import OutputHeads
from chainrule.nn.module import Module
from chainrule.train import data_adapter
from chainrule.train import model as engine


class Model(ModelViews, base.WeightsView, engine.Model):
    """``keras.Model(inputs, outputs)`` over ``keras.Input`` tensors, or subclassed with ``call(inputs)``.

        >>> from chainrule import keras
        >>> inputs = keras.Input(shape=(3,))
        >>> outputs = keras.layers.Dense(2)(keras.layers.Dense(4, activation="relu")(inputs))
        >>> keras.Model(inputs, outputs).count_params()
        26
    """

    keras_verbose = True  # fit's verbose=2 is Keras's one line per epoch (train/progress.py)
    _loss_may_come_from_layers = True  # compile() without a loss: the layers' add_loss penalties are it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("train_step", "test_step"):
            step = cls.__dict__.get(name)
            if step is not None and _takes_data(step):
                setattr(cls, name, _from_x_and_y(step))

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        base.check_keywords(type(self).__name__, kwargs)
        engine.Model.__init__(self)
        if not isinstance(self, engine.Sequential):  # a Sequential names itself
            self.name = base.keras_name(self, name, "functional" if inputs is not None else None)
        if inputs is None and outputs is None:
            return  # a subclass: its layers are attributes, its forward is call()
        graph = Graph(inputs, outputs)
        object.__setattr__(self, "_graph", graph)
        for index, layer in enumerate(graph.layers):
            if not isinstance(layer, Module):
                raise ChainruleError(f"keras.Model: {layer!r} is not a layer")
            # keyed by position, as in a Sequential: a rebuilt model loads weights whatever its names
            self.add_module(str(index), layer)
        first = graph.inputs[0]
        self._input_spec = {"shape": list(first.shape), "dtype": first.dtype}
        if not trainable:
            self.trainable = False

    @property
    def inputs(self):
        graph = self.__dict__.get("_graph")
        return None if graph is None else graph.inputs

    @property
    def outputs(self):
        graph = self.__dict__.get("_graph")
        return None if graph is None else graph.outputs

    def forward(self, *inputs, training=None):
        graph = self.__dict__.get("_graph")
        if graph is not None:
            if len(inputs) == 1 and isinstance(inputs[0], dict):  # Keras's model({"name": x, ...})
                names = [t.name for t in graph.inputs]
                if sorted(inputs[0]) != sorted(names):
                    raise ShapeError(f"{type(self).__name__} '{self.name}': a dict of inputs needs the keys "
                                     f"{names}, got {sorted(inputs[0])}")
                inputs = tuple(inputs[0][name] for name in names)
            elif len(inputs) == 1 and len(graph.inputs) > 1 and isinstance(inputs[0], (list, tuple)):
                inputs = tuple(inputs[0])  # Keras's model([a, b]); a batch of several inputs is a tuple
            if len(inputs) != len(graph.inputs):
                raise ShapeError(f"{type(self).__name__} '{self.name}': expects {len(graph.inputs)} inputs "
                                 f"{[t.name for t in graph.inputs]}, got {len(inputs)}; hint: "
                                 "model([a, b]) or model({'name': a, ...})")
            return graph.run(inputs)
        if type(self).call is not Model.call:
            if training_mode.takes_training(type(self).call):  # call(inputs, training=None): its mode
                return self.call(*inputs, training=self.training)
            return self.call(*inputs)
        return engine.Model.forward(self, *inputs)

    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__}: define call(inputs), or build the model as "
                                  "keras.Model(inputs, outputs)")

    def __call__(self, *args, training=None, **kwargs):
        """Keras's call: ``training`` if given, else the enclosing call's (fit's steps), else inference."""
        if symbolic_in(args):  # a model used as a layer of a bigger one
            from chainrule.keras.layers.functional import call_symbolic

            explicit = {} if training is None else {"training": training}
            return call_symbolic(self, args, {**kwargs, **explicit})
        resolved = training if training is not None else training_mode.enclosing()
        return training_mode.call(self, super().__call__, bool(resolved), base.as_tensors(args), kwargs)

    # ---------------------------------------------------------------- compile and the two steps
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, **kwargs):
        """Keras's ``compile``: an optimizer name means :mod:`chainrule.keras.optimizers` with Keras's
        defaults; the loss is a name, a ``keras.losses`` object or a function ``loss(y_true, y_pred)``.
        A model of several outputs takes a loss per output (see :mod:`chainrule.keras.multi_output`)."""
        several = len(self.outputs or ()) > 1
        base.check_keywords(f"{type(self).__name__}.compile",
                            {**kwargs, **({} if several else {"loss_weights": loss_weights})})
        if isinstance(optimizer, str):
            optimizer = keras_optimizers.get(optimizer)
        object.__setattr__(self, "_heads", None)
        if loss is None:  # its own train_step brings its losses (a GAN's two players), or its layers do
            # (add_loss: Keras's compile() without a loss; fit says so if no layer adds any)
            engine.Model.compile(self, optimizer=optimizer, metrics=metrics)
            return
        if several:
            heads = OutputHeads(self.output_names, loss, loss_weights, metrics)
            engine.Model.compile(self, loss=heads, optimizer=optimizer)
            self._compiled.metrics = heads.trackers  # logged after "loss", as Keras logs them
            object.__setattr__(self, "_heads", heads)
            return
        compiled_loss = keras_losses.CompiledLoss(loss)
        if metrics is not None:
            metrics = [keras_metrics.for_engine(m) for m in (metrics if isinstance(metrics, (list, tuple))
                                                               else [metrics])]
        engine.Model.compile(self, loss=compiled_loss, optimizer=optimizer, metrics=metrics)
        self._compiled.loss_identifier = compiled_loss.identifier  # a name is saved with the model

    @property
    def output_names(self):
        """The names of the outputs: those of the layers that make them (Keras's), made unique."""
        names = []
        for t in self.outputs or ():
            name = t.name if t.node is None else getattr(t.node.layer, "name", type(t.node.layer).__name__)
            names.append(name if name not in names else f"{name}_{len(names)}")
        return names

    def _compile_config(self):
        config = engine.Model._compile_config(self)
        heads = self.__dict__.get("_heads")
        if heads is None or config is None:
            return config
        several = heads.config()
        if several is None:  # a loss given as a function: the file keeps no compile settings
            return None
        config.pop("loss_function", None)
        return {**config, **several}

    def _new_run(self):
        engine.Model._new_run(self)
        heads = self.__dict__.get("_heads")
        if heads is not None:
            heads.new_run()

    def _has_custom_train_step(self):
        return type(self).train_step is not Model.train_step

    def _has_custom_test_step(self):
        # several outputs: the step checks each output's targets itself (the loop's check takes one output)
        return type(self).test_step is not Model.test_step or self.__dict__.get("_heads") is not None

    def train_step(self, x, y):
        heads = self.__dict__.get("_heads")
        with training_mode.step(True):  # the model's calls inside train (Dropout on, batch statistics)
            if heads is not None:
                return heads.step(self, x, y, train=True)
            return engine.Model.train_step(self, x, self._take_weights(y))

    def test_step(self, x, y):
        heads = self.__dict__.get("_heads")
        with training_mode.step(False):
            if heads is not None:
                return heads.step(self, x, y, train=False)
            return engine.Model.test_step(self, x, self._take_weights(y))

    def _take_weights(self, y):
        """Hand a batch's sample weights (a WeightedTargets from Samples) to the compiled loss."""
        loss = self._compiled.loss
        weights = None
        if isinstance(y, WeightedTargets):
            y, weights = y
        if isinstance(loss, keras_losses.CompiledLoss):
            loss.sample_weight = weights
        return y

    # ---------------------------------------------------------------- fit, evaluate, predict
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, **kwargs):
        """Keras's ``fit``: batch_size None means 32; ``validation_split`` holds out the last fraction
        (with its share of ``sample_weight``); ``validation_data`` may be ``(x, y, sample_weight)``.
        ``class_weight`` weighs the training samples only, as in Keras."""
        where = f"{type(self).__name__}.fit"
        base.check_keywords(where, kwargs)
        batch_size = 32 if batch_size is None else batch_size
        verbose = _keras_verbose(verbose, where)
        x, y = several_inputs(self, x, where), several_targets(self, y, where)
        validation_weights = None
        if validation_split and validation_data is None and not data_adapter._is_dataset(x):
            x, y = arrays(x, where), arrays(y, where)
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))
            if split_at in (0, len(x)):
                raise ShapeError(f"fit: validation_split={validation_split} of {len(x)} samples leaves no "
                                 f"{'training' if split_at == 0 else 'validation'} samples")
            validation_data = (x[split_at:], y[split_at:])
            if sample_weight is not None:
                sample_weight = numpy.asarray(sample_weight)
                sample_weight, validation_weights = sample_weight[:split_at], sample_weight[split_at:]
            x, y, validation_split = x[:split_at], y[:split_at], 0.0
        if isinstance(validation_data, (tuple, list)) and len(validation_data) == 3:
            validation_data, validation_weights = tuple(validation_data[:2]), validation_data[2]
        if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
            val_x = several_inputs(self, validation_data[0], f"{where} (validation)")
            val_y = several_targets(self, validation_data[1], f"{where} (validation)")
            if validation_weights is not None or ArrayGroup in (type(val_x), type(val_y)):
                validation_data = DataLoader(weighted_samples(val_x, val_y, validation_weights, None, where),
                                             batch_size=batch_size)
        if sample_weight is not None or class_weight is not None or ArrayGroup in (type(x), type(y)):
            x, y = weighted_samples(x, y, sample_weight, class_weight, where), None
        return engine.Model.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                callbacks=callbacks, validation_split=validation_split,
                                validation_data=validation_data, shuffle=shuffle, initial_epoch=initial_epoch)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False,
                 **kwargs):
        """``[loss, *metrics]`` (a scalar without metrics), as Keras's ``evaluate``."""
        where = f"{type(self).__name__}.evaluate"
        base.check_keywords(where, kwargs)
        batch_size = 32 if batch_size is None else batch_size
        verbose = _keras_verbose(verbose, where)
        x, y = several_inputs(self, x, where), several_targets(self, y, where)
        if sample_weight is not None or ArrayGroup in (type(x), type(y)):
            x, y = weighted_samples(x, y, sample_weight, None, where), None
        return engine.Model.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                     return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        """The outputs for ``x`` (a list of arrays, or a dict by name, for several inputs); a list of
        arrays for a model of several outputs, as in Keras."""
        base.check_keywords(f"{type(self).__name__}.predict", kwargs)
        x = several_inputs(self, x, f"{type(self).__name__}.predict")
        if isinstance(x, ArrayGroup):
            x = Samples(x)
        outputs = engine.Model.predict(self, x, batch_size=32 if batch_size is None else batch_size)
        return list(outputs) if isinstance(outputs, tuple) else outputs

    def save(self, filepath, overwrite=True, include_optimizer=True, zipped=None, custom_objects=None,
             **kwargs):
        """Save to one safetensors model file, whatever the suffix (".keras" too); see ``load_model``.
        ``zipped`` is Keras's and has no effect; ``custom_objects`` names your own layer classes."""
        base.check_keywords(f"{type(self).__name__}.save", kwargs)
        engine.Model.save(self, filepath, include_optimizer=include_optimizer, custom_objects=custom_objects)

    # ---------------------------------------------------------------- a functional model in a file
    def get_config(self):
        if self.__dict__.get("_graph") is None:  # a subclass's layers are made by its code, not a config
            raise ChainruleError(f"cannot save {type(self).__name__} whole: a subclassed keras.Model is "
                                 "code; hint: model.save_weights(path) and rebuild it in code before "
                                 "load_weights(path), or give the class get_config() and pass custom_objects")
        return {"name": self.name}

    def graph_config(self):
        """The wiring of a functional model (saved beside its layers' configs); None for other models."""
        graph = self.__dict__.get("_graph")
        return None if graph is None else graph_config.encode(graph)

    @classmethod
    def from_graph(cls, layers, wiring, path="<file>", **config):
        """The functional model that ``layers`` wired as ``wiring`` (from :meth:`graph_config`) make."""
        inputs, outputs = graph_config.rebuild(layers, wiring, path)
        model = cls(inputs, outputs, **config)
        if len(model.layers) != len(layers) or any(a is not b for a, b in zip(model.layers, layers)):
            raise FormatError(f"{path}: expected a wiring that uses each of its {len(layers)} layers, in "
                              "order, got one that does not; hint: the file is corrupted")
        return model

    def _known_input_spec(self):
        graph = self.__dict__.get("_graph")
        if graph is not None and len(graph.inputs) > 1:  # one spec per input: summary's dry run takes all
            return [{"shape": list(t.shape), "dtype": t.dtype} for t in graph.inputs]
        return engine.Model._known_input_spec(self)

    # ---------------------------------------------------------------- weights in Keras's layout
    def get_weights(self):
        """Every layer's weights in Keras's layout and order (Dense kernel ``(in, units)``, then bias)."""
        self._build_if_possible()
        return base.get_weights(self)

    def set_weights(self, weights):
        self._build_if_possible()
        base.set_weights(self, weights)

def _keras_verbose(verbose, where):
    """Keras's ``verbose`` for fit: "auto" is 1 (a bar, a line per epoch off a terminal); 2 one plain
    line per epoch (``keras_verbose`` tells the loop to read it so), 0 nothing."""
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, bool):
        return verbose
    raise ConfigError(f"{where}: verbose must be 'auto', 0, 1 or 2 (Keras's values), got {verbose!r}")


def _takes_data(step):
    """Whether ``step`` is Keras 3's ``train_step(self, data)``: one argument after self."""
    try:
        parameters = list(inspect.signature(step).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 2 and not any(p.kind == p.VAR_POSITIONAL for p in parameters)


def _from_x_and_y(step):
    """The engine's ``step(x, y)`` for Keras 3's ``step(data)``: data is x alone, or the pair (x, y)."""
    @functools.wraps(step)
    def engine_step(self, x, y=None):
        return step(self, x if y is None else (x, y))

    return engine_step


class Sequential(engine.Sequential, Model):
    """``keras.Sequential([...])``, or ``Sequential()`` then ``add``; a ``keras.Input`` first gives the shape.

        >>> from chainrule import keras
        >>> model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
        >>> model.count_params()
        10
    """

    def __init__(self, layers=None, trainable=True, name=None):
        engine.Sequential.__init__(self, None, name=name)
        for layer in layers or ():
            self.add(layer)
        if not trainable:
            self.trainable = False

    def add(self, layer):
        """Append a layer; ``keras.Input(...)`` or an ``InputLayer`` (first) only set the input shape.

        As in Keras, once the input shape is known (an Input first, or ``input_shape=`` on the first
        layer) every layer added is built at once: its weights exist before the first call."""
        if isinstance(layer, InputLayer):
            layer = layer.tensor
        if isinstance(layer, KerasTensor):
            if self._modules:
                raise ChainruleError("Sequential.add: keras.Input must come first, before any layer")
            self._input_spec = {"shape": list(layer.shape), "dtype": layer.dtype}
            return self
        shape = getattr(layer, "_input_shape_arg", None)
        if shape is not None and None not in shape and not self._modules and self._input_spec is None:
            self._input_spec = {"shape": [None, *shape], "dtype": numpy.dtype(DEFAULT_FLOAT).name}
        engine.Sequential.add(self, layer)
        self._build_if_possible()
        return self

    def pop(self):
        return engine.Sequential.pop(self)

    def forward(self, x):
        return engine.Sequential.forward(self, x)

    def get_config(self):
        return {"name": self.name}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002 - Keras's keyword
    """Rebuild a model saved with ``model.save(path)`` (any suffix, ".keras" too): our safetensors file."""
    from chainrule.io import load_model as engine_load

    return engine_load(filepath, compile=compile, custom_objects=custom_objects)


def save_model(model, filepath, **kwargs):
    model.save(filepath, **kwargs)
