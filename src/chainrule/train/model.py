"""``Model`` and ``Sequential``: the Keras-style front door, and the two steps of the one training loop.

``cr.Model(module)`` gives any ``nn.Module`` the methods ``compile``, ``fit``, ``evaluate``,
``predict``, ``train_on_batch``, ``summary``, ``save``; subclassing ``Model`` (define ``forward``)
works too, and ``cr.Sequential([...])`` is both an ``nn.Sequential`` and a ``Model``.

Every high-level call ends in the same two methods: :meth:`Model.train_step` (forward, loss,
backward, optimiser step, running metrics) and :meth:`Model.test_step` (forward and metrics under
no_grad). ``fit`` is a loop over epochs and batches around them; callbacks see it only through
their hooks and ``logs``. Training that is not "one loss, one optimiser" (a GAN's two players)
overrides ``train_step`` and returns its numbers by name; see :meth:`Model.train_step`.

The loop itself is :mod:`chainrule.train.loop`; a batch's inputs and targets are adapted by
:func:`~chainrule.train.data_adapter.model_input` and :func:`~chainrule.train.targets.adapt_targets`;
the weights as arrays (get_weights, set_weights, count_params) are :mod:`chainrule.train.weights`.

    >>> import numpy as np, chainrule as cr
    >>> model = cr.Sequential([cr.nn.Dense(4, activation="relu", input_shape=(3,)), cr.nn.Dense(1)])
    >>> model.compile(loss="mse", optimizer="sgd")
    >>> history = model.fit(np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"), epochs=2, verbose=0)
    >>> len(history.history["loss"])
    2
"""

import numpy

from chainrule import backend, gpu
from chainrule.autograd.mode import no_grad
from chainrule.errors import ChainruleError, ConfigError
from chainrule.nn.layers.containers import Sequential as _NNSequential
from chainrule.nn.module import Module
from chainrule.optim.lbfgs import LBFGS
from chainrule.train import checkpoint, data_adapter, loop, nan_guard, progress, weights
from chainrule.train.compiled import Compiled
from chainrule.train.data_adapter import model_input
from chainrule.train.targets import UNCHECKED, adapt_targets


class Model(Module):
    """A trainable model: wraps ``module`` (``Model(module)``), or subclass it and define ``forward``."""

    stop_training = False
    history = None
    _compiled = None
    _input_spec = None  # {"shape": [None, ...], "dtype": ...} of the first batch seen
    _fit_state = None  # while fit runs: what a checkpoint needs to resume it

    def __init__(self, module=None, name=None):
        super().__init__()
        if module is not None:
            if not isinstance(module, Module):
                raise TypeError(f"Model wraps an nn.Module, got {type(module).__name__}")
            self.module = module
        if name is not None:
            self.name = name

    def forward(self, *inputs):
        if "module" not in self._modules:
            raise NotImplementedError(f"{type(self).__name__}: define forward(), or wrap a module: "
                                      "cr.Model(module)")
        return self.module(*inputs)

    @property
    def layers(self):
        """The top-level layers (of the wrapped module for ``Model(module)``), as summary lists them."""
        from chainrule.train.summary import listed_layers

        return [layer for _, layer in listed_layers(self)]

    # ---------------------------------------------------------------- compile
    @property
    def optimizer(self):
        return self._compiled.optimizer if self._compiled is not None else None

    @property
    def loss(self):
        return self._compiled.loss if self._compiled is not None else None

    @property
    def metrics(self):
        """The running means behind the logs, in their order.

        The loss's first (as in Keras, when there is a loss), then the compiled metrics, then those
        of the named values a custom train_step/test_step returned in the current epoch.
        """
        if self._compiled is None:
            return []
        return [*self._compiled.trackers, *self._compiled.step_trackers.values()]

    def compile(self, loss=None, optimizer=None, metrics=None):
        """Choose the loss, the optimiser and the metrics, by object or by name.

        Losses: "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
        "mse", "mae", "hinge", "cross_entropy" (from logits), ... or a function ``loss(input, target)``.
        Optimisers: "sgd", "rmsprop" (the default), "adam", "adamw", "adadelta", "adagrad" (by name
        with Keras's default settings: "sgd" has lr 0.01, "rmsprop" lr 0.001 and ρ 0.9) or an
        Optimizer; one built without parameters is bound to this model's parameters here (or at the
        first batch, when lazy layers still wait for their input size).

        A model that overrides ``train_step`` needs nothing: ``compile()`` is enough, and a loss or
        optimiser not named stays None (its step brings its own, e.g. a GAN's two optimisers).
        """
        compiled = Compiled.resolve(loss, optimizer, metrics, type(self).__name__,
                                    custom_step=self._has_custom_train_step(),
                                    layer_losses=self._loss_may_come_from_layers)
        object.__setattr__(self, "_compiled", compiled)
        optimizer = compiled.optimizer
        if optimizer is not None and not optimizer.param_groups:
            self._build_if_possible()
            if self._fully_built():
                optimizer.bind(list(self.parameters()))

    _loss_may_come_from_layers = False  # chainrule.keras's Model: compile() may leave the loss out

    def _has_custom_train_step(self):
        return type(self).train_step is not Model.train_step

    def _has_custom_test_step(self):
        return type(self).test_step is not Model.test_step

    def _compile_config(self):
        return self._compiled.config() if self._compiled is not None else None

    def _require_compiled(self, where):
        if self._compiled is None:
            raise ChainruleError(f"{type(self).__name__}.{where}: the model is not compiled; hint: call "
                                 "model.compile(loss=..., optimizer=..., metrics=[...]) first")
        return self._compiled

    @property
    def input_spec(self):
        """``{"shape": [None, ...], "dtype": name}`` of the inputs, once known (from data or the first layer).

        Set it for inputs a dry run cannot guess, e.g. integer token ids:
        ``model.input_spec = {"shape": [None, 64], "dtype": "int64"}``.
        """
        return self._known_input_spec()

    @input_spec.setter
    def input_spec(self, spec):
        self._input_spec = {"shape": list(spec["shape"]), "dtype": str(spec["dtype"])}

    # ---------------------------------------------------------------- building
    def _fully_built(self):
        return all(getattr(m, "built", True) is not False for m in self.modules()) and \
            any(True for _ in self.parameters())

    def _known_input_spec(self):
        """The input shape if the model knows it: from data seen, or from its first layer."""
        if self._input_spec is not None:
            return self._input_spec
        module = self
        while module._modules:  # depth first: the first layer the data meets (for sequential models)
            module = next(iter(module._modules.values()))
        size = getattr(module, "in_features", None)
        if isinstance(size, int):
            return {"shape": [None, size], "dtype": numpy.dtype(backend.DEFAULT_FLOAT).name}
        return None  # the first layer does not say

    def _build_if_possible(self):
        from chainrule.io.model_file import build_from_spec

        spec = self._known_input_spec()
        if spec is not None and not self._fully_built():
            build_from_spec(self, spec)

    def _float_dtype(self):
        for p in self.parameters():
            if backend.is_floating(p.dtype):
                return p.dtype
        return numpy.dtype(backend.DEFAULT_FLOAT)

    # ---------------------------------------------------------------- the one loop: its two steps
    def train_step(self, x, y):
        """One optimisation step on one batch; updates the running loss and metrics; returns the loss.

        forward → loss(output, y) → backward → optimizer.step(); ``x``, ``y`` are arrays or Tensors.

        The contract for subclasses that override it (as Keras's ``train_step``): do one step of any
        kind on the batch and either update the running metrics yourself and return anything that is
        not a dict (what this method does), or return a dict of named scalars (floats, 0-d arrays or
        0-d Tensors), e.g. ``{"d_loss": ..., "g_loss": ...}``. ``fit`` averages each name over the
        epoch's batches, weighted by the batch's number of samples (exact over an uneven last batch,
        like the loss), and puts the means in ``logs``: callbacks (EarlyStopping(monitor="g_loss")),
        History and the progress lines see them. ``test_step`` may do the same for evaluate and the
        ``val_`` logs. Such a model is compiled with what its step uses, possibly nothing
        (``compile()``); ``fit(x)`` may leave out ``y`` for arrays, and the step then gets ``y=None``.
        """
        compiled = self._compiled
        output = self(model_input(self, x))
        loss, y, device_y = self._step_loss(compiled, output, y)
        value = float(loss._data)
        guarded = nan_guard.guarding(self)
        finite = nan_guard.check_loss(value, self) if guarded else True  # on several ranks: noted
        # metrics first: one that refuses these targets does so before the weights change
        if finite:
            self._update_metrics(output._data, y, value)
        optimizer = compiled.optimizer
        if not optimizer.param_groups:  # lazy layers have just built their parameters
            if not any(p.requires_grad for p in self.parameters()):  # nothing to train (Keras fits such
                # a model: the loss and the metrics only)
                return value
            optimizer.bind(list(self.parameters()))
        optimizer.zero_grad()
        loss.backward()
        if guarded:
            nan_guard.check_gradients(self, optimizer, value)
        if isinstance(optimizer, LBFGS):
            # L-BFGS re-evaluates during its line search
            optimizer.step(lambda: self._closure_loss(x, device_y))
        else:
            optimizer.step()
        return value

    def _step_loss(self, compiled, output, y):
        """(loss, targets as the metrics take them, targets on the model's device) of one batch."""
        if compiled.loss is None:  # Keras's compile() without a loss: the layers' penalties alone
            loss = self._with_layer_losses(None)
            if loss is None:
                raise ConfigError(f"{type(self).__name__}: no loss to compute: the model was compiled "
                                  "without one and no layer added a penalty (add_loss); hint: "
                                  "compile(loss='mse', ...)")
            return loss, y, y
        y = adapt_targets(compiled, y, output)
        device_y = gpu.move_array(y, backend.array_module(output._data))  # the batch's targets to the model
        return self._with_layer_losses(compiled.loss(output, device_y)), y, device_y

    def _with_layer_losses(self, loss):
        """The loss plus the penalties layers ask for (Keras's ``model.losses``: the weight and activity
        regularizers of chainrule.keras layers, from this forward pass); ``loss`` itself when none do."""
        for module in self.modules():
            own = getattr(module, "_own_losses", None)
            if own is not None:
                for penalty in own():
                    loss = penalty if loss is None else loss + penalty
        return loss

    def _closure_loss(self, x, y):
        """Forward, loss and backward again on the same batch (for optimisers that search along a line)."""
        self._compiled.optimizer.zero_grad()
        loss = self._compiled.loss(self(model_input(self, x)), y)
        loss.backward()
        return loss

    def test_step(self, x, y):
        """Forward one batch without recording a graph; updates the running loss and metrics."""
        compiled = self._compiled
        with no_grad():
            output = self(model_input(self, x))
            loss, y, _ = self._step_loss(compiled, output, y)
            value = float(loss._data)
        self._update_metrics(output._data, y, value)
        return value

    def _update_metrics(self, output, y, loss_value):
        compiled = self._compiled
        compiled.loss_tracker.update_mean(loss_value, len(output))
        if compiled.metrics:  # metrics count on the host: a device batch's outputs come back for them
            output, y = gpu.move_array(output, numpy), gpu.move_array(y, numpy)
        for metric in compiled.metrics:
            metric.update_state(output, y)

    def _reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()
        if self._compiled is not None:
            self._compiled.step_trackers.clear()  # a name shows in an epoch's logs only if returned in it

    def _logs(self):
        logs = {}
        for metric in self.metrics:
            value = metric.result()
            if numpy.ndim(value) == 0:  # a confusion matrix stays on its metric object
                logs[metric.name] = float(value)
        return logs

    def _new_run(self):
        """Forget the target adaptation of an earlier run (its data may have had another form), and
        look the model's float dtype up once for the run's batches."""
        if self._compiled is not None:
            self._compiled.target_adapt = UNCHECKED
        object.__setattr__(self, "_run_dtype", self._float_dtype())

    # ---------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, resume_from=None, stop_on_nan=True,
            detect_anomaly=False, check_finite=True):
        """Train for ``epochs`` epochs of minibatches; returns a History (``history.history[name]``).

        Arguments:
            x, y: arrays (or Tensors) with one row per sample, or a Dataset / DataLoader as ``x``.
            validation_split: hold out this fraction of (x, y), chosen by a seeded permutation.
            validation_data: ``(x_val, y_val)`` or a Dataset / DataLoader; adds ``val_*`` logs.
            verbose: 0 silent, 1 a line (or terminal bar) per epoch, 2 more detail (monotonic).
            initial_epoch: the epoch to start at (epochs count from 0; ``epochs`` is where to stop).
            resume_from: a file written by ModelCheckpoint or ``save`` during fit: weights, optimiser
                state, epoch, history, callback state and random streams are restored, and training
                continues as if it had never stopped.
            stop_on_nan: stop at the first batch whose loss or gradient is NaN or inf, before its step,
                so the weights stay those of the last finite step (a warning names the epoch and batch).
            detect_anomaly: train under ``cr.autograd.detect_anomaly()``, which names the op (and the line
                that made it) whose forward or backward first produced NaN or inf. Slow.
            check_finite: check once that array data hold no NaN or inf (False skips it, for large data).
        """
        self._require_compiled("fit")
        return loop.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                        shuffle, initial_epoch, resume_from,
                        guards={"stop_on_nan": stop_on_nan, "detect_anomaly": detect_anomaly,
                                "check_finite": check_finite})

    # ---------------------------------------------------------------- evaluate, predict, single batches
    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, return_dict=False):
        """The loss and metrics over (x, y): ``loss``, or ``[loss, *metrics]`` when there are metrics."""
        self._require_compiled("evaluate")
        self._new_run()
        logs = loop.evaluate_batches(self, data_adapter.batches(x, y, batch_size, False, "evaluate"))
        if verbose:
            progress.write_line(progress.format_logs(logs))
        return _result(logs, return_dict)

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs for ``x`` (arrays, a Dataset or a loader), batched, as a NumPy array."""
        was_training = self.training
        self.eval()
        outputs = []
        object.__setattr__(self, "_run_dtype", self._float_dtype())
        try:
            with no_grad():
                spec = self._known_input_spec()
                for chunk in data_adapter.predict_chunks(x, batch_size, spec, type(self).__name__):
                    outputs.append(self(model_input(self, chunk)))
        finally:
            self.train(was_training)
        if not outputs:
            raise ChainruleError("predict: got no samples")
        return data_adapter.concatenate(outputs)

    def train_on_batch(self, x, y, reset_metrics=True, return_dict=False):
        """One train_step on (x, y); returns the loss, or ``[loss, *metrics]`` over this batch."""
        self._require_compiled("train_on_batch")
        if reset_metrics:
            self._reset_metrics()
        self._new_run()
        self.train()
        result = self.train_step(x, y)
        if isinstance(result, dict):
            loop.track_step_values(self, result, x, "train_step")
        return _result(self._logs(), return_dict)

    def test_on_batch(self, x, y, reset_metrics=True, return_dict=False):
        """One test_step on (x, y); returns the loss, or ``[loss, *metrics]``."""
        self._require_compiled("test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        self._new_run()
        was_training = self.training
        self.eval()
        try:
            result = self.test_step(x, y)
            if isinstance(result, dict):
                loop.track_step_values(self, result, x, "test_step")
        finally:
            self.train(was_training)
        return _result(self._logs(), return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(x), 1))

    # ---------------------------------------------------------------- summary and files
    def summary(self, input_shape=None, print_fn=None, line_length=65):
        """Keras's table of layers, output shapes and parameter counts, from one dry forward pass.

        ``input_shape`` leaves out the batch axis; it is needed only when the model cannot tell
        (no data seen yet and no input size on its first layer). ``print_fn(text)`` receives the
        text (default: written to standard output); the text is also returned.
        """
        from chainrule.train.summary import summary_text, write

        text = summary_text(self, input_shape, line_length)
        write(text, print_fn)
        return text

    def save(self, path, include_optimizer=True, custom_objects=None):
        """Save architecture, weights, compile settings and optimiser state to one file (atomic).

        ``custom_objects`` (``{"Name": cls}``) names your own layer classes, which need a get_config();
        pass the same dict to ``cr.load_model``. Inside ``fit`` (from a callback) the file also holds
        the training state that ``fit(resume_from=path)`` continues from.
        """
        from chainrule.io import model_file

        model_file.save_model(self, path, include_optimizer=include_optimizer, custom_objects=custom_objects,
                              training_state=checkpoint.training_state(self) if include_optimizer else None)

    def save_weights(self, path):
        """Save only the weights (safetensors, PyTorch-style names), atomically."""
        from chainrule.io import model_file

        model_file.save_weights(self, path)

    def load_weights(self, path):
        """Load weights from a weights or model file; on any mismatch the model is left unchanged."""
        from chainrule.io import model_file

        model_file.load_weights(self, path)
        return self

    # ---------------------------------------------------------------- weights as arrays (train/weights.py)
    def count_params(self):
        """The number of scalars in the weights: summary's "Total params" (running statistics count)."""
        return weights.count_params(self)

    def get_weights(self):
        """The parameters as a list of NumPy arrays (copies), in the order of ``parameters()``."""
        return weights.get_weights(self)

    def set_weights(self, arrays):
        """Set the parameters from a list like get_weights' (dtypes kept); a wrong shape changes nothing."""
        weights.set_weights(self, arrays)


class Sequential(_NNSequential, Model):
    """Keras's ``Sequential([...])``: an ``nn.Sequential`` (keys "0.weight", ...) that is also a Model.

        >>> import chainrule as cr
        >>> model = cr.Sequential([cr.nn.Dense(3, input_shape=(2,)), cr.nn.Dense(1)])
        >>> [layer.units for layer in model.layers]
        [3, 1]
    """

    def __init__(self, layers=None, name=None):
        if layers is None:
            _NNSequential.__init__(self, name=name)
        else:
            _NNSequential.__init__(self, layers, name=name)

    def forward(self, x):
        return _NNSequential.forward(self, x)


def _result(logs, return_dict):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
