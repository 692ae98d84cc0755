"""``Model`` and ``Sequential``: the Keras-style front door, and the one training loop.

``cr.Model(module)`` gives any ``nn.Module`` the methods ``compile``, ``fit``, ``evaluate``,
``predict``, ``train_on_batch``, ``summary``, ``save``; subclassing ``Model`` (define ``forward``)
works too, and ``cr.Sequential([...])`` is both an ``nn.Sequential`` and a ``Model``.

Every high-level call ends in the same two methods: :meth:`Model.train_step` (forward, loss,
backward, optimiser step, running metrics) and :meth:`Model.test_step` (forward and metrics under
no_grad). ``fit`` is a loop over epochs and batches around them; callbacks see it only through
their hooks and ``logs``. Training that is not "one loss, one optimiser" (a GAN's two players)
overrides ``train_step`` and returns its numbers by name; see :meth:`Model.train_step`.

    >>> import numpy as np, chainrule as cr
    >>> model = cr.Sequential([cr.nn.Dense(4, activation="relu", input_shape=(3,)), cr.nn.Dense(1)])
    >>> model.compile(loss="mse", optimizer="sgd")
    >>> history = model.fit(np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"), epochs=2, verbose=0)
    >>> len(history.history["loss"])
    2
"""

import numpy

from chainrule import backend
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, ConfigError, ShapeError
from chainrule.nn.layers.containers import Sequential as _NNSequential
from chainrule.nn.module import Module
from chainrule.optim.lbfgs import LBFGS
from chainrule.train import checkpoint, data_adapter, progress, targets
from chainrule.train.callbacks import CallbackList, History
from chainrule.train.compiled import UNCHECKED, Compiled


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
                                    custom_step=self._has_custom_train_step())
        object.__setattr__(self, "_compiled", compiled)
        optimizer = compiled.optimizer
        if optimizer is not None and not optimizer.param_groups:
            self._build_if_possible()
            if self._fully_built():
                optimizer.bind(list(self.parameters()))

    def _has_custom_train_step(self):
        return type(self).train_step is not Model.train_step

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

    def _input(self, x):
        """A batch of inputs as a Tensor in the model's float dtype (integers, e.g. indices, kept)."""
        dtype = self.__dict__.get("_run_dtype") or self._float_dtype()
        if isinstance(x, Tensor):
            array = x.data
        else:
            array = x if isinstance(x, numpy.ndarray) else data_adapter.as_array(x)
        if array.dtype.kind == "f" and array.dtype != dtype:
            array = array.astype(dtype)
            x = None
        if self._input_spec is None:
            self._input_spec = {"shape": [None, *array.shape[1:]], "dtype": array.dtype.name}
        return x if isinstance(x, Tensor) else Tensor(array)

    def _targets(self, y, output):
        """Targets as an array, checked against the loss and output at the first batch of a run."""
        y = y.data if isinstance(y, Tensor) else (y if isinstance(y, numpy.ndarray) else numpy.asarray(y))
        adapt = self._compiled.target_adapt
        if adapt is UNCHECKED:
            adapt = self._compiled.target_adapt = targets.check(self._compiled.loss_name,
                                                                getattr(output, "shape", None), y)
        if adapt is None:
            return y
        if adapt == "int64":
            return y.astype(numpy.int64)
        return y.reshape((len(y), *adapt))

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
        output = self(self._input(x))
        y = self._targets(y, output)
        loss = compiled.loss(output, y)
        value = float(loss.data)
        # metrics first: one that refuses these targets does so before the weights change
        self._update_metrics(output.data, y, value)
        optimizer = compiled.optimizer
        if not optimizer.param_groups:  # lazy layers have just built their parameters
            optimizer.bind(list(self.parameters()))
        optimizer.zero_grad()
        loss.backward()
        if isinstance(optimizer, LBFGS):
            optimizer.step(lambda: self._closure_loss(x, y))  # L-BFGS re-evaluates during its line search
        else:
            optimizer.step()
        return value

    def _closure_loss(self, x, y):
        """Forward, loss and backward again on the same batch (for optimisers that search along a line)."""
        self._compiled.optimizer.zero_grad()
        loss = self._compiled.loss(self(self._input(x)), y)
        loss.backward()
        return loss

    def test_step(self, x, y):
        """Forward one batch without recording a graph; updates the running loss and metrics."""
        compiled = self._compiled
        with no_grad():
            output = self(self._input(x))
            y = self._targets(y, output)
            value = float(compiled.loss(output, y).data)
        self._update_metrics(output.data, y, value)
        return value

    def _update_metrics(self, output, y, loss_value):
        compiled = self._compiled
        compiled.loss_tracker.update_mean(loss_value, len(output))
        for metric in compiled.metrics:
            metric.update_state(output, y)

    def _track_step_logs(self, values, x, where):
        """Add the named values a custom step returned for batch ``x`` to the epoch's running means."""
        count = _batch_length(x)
        trackers = self._compiled.step_trackers
        for name, value in values.items():
            if isinstance(value, Tensor):
                value = value.data
            if numpy.ndim(value) != 0:
                raise ChainruleError(f"{type(self).__name__}.{where}: the value {name!r} it returned has "
                                     f"shape {numpy.shape(value)}, expected a scalar; hint: return e.g. "
                                     "float(loss.data) or the 0-d loss Tensor")
            tracker = trackers.get(name)
            if tracker is None:
                from chainrule.train.metrics import Mean

                tracker = trackers[name] = Mean(name)
            tracker.update_mean(value, count)

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
            validation_data=None, shuffle=True, initial_epoch=0, resume_from=None):
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
        """
        self._require_compiled("fit")
        saved, training = checkpoint.read(resume_from) if resume_from is not None else (None, None)
        split_seed = None
        if validation_split:
            if validation_data is not None:
                raise ChainruleError("fit: pass validation_split or validation_data, not both")
            (x, y), validation_data, split_seed = data_adapter.split(
                x, y, validation_split, None if training is None else training.get("split_seed"))
        unpack = data_adapter.unpack
        if y is None and self._has_custom_train_step() and isinstance(x, (numpy.ndarray, Tensor, list)):
            train_batches, unpack = _inputs_only_batches(x, batch_size, shuffle), _inputs_only
        else:
            train_batches = data_adapter.batches(x, y, batch_size, shuffle, "fit")
        val_batches = None
        if validation_data is not None:
            val_x, val_y = data_adapter.pair(validation_data)
            val_batches = data_adapter.batches(val_x, val_y, batch_size, False, "fit (validation)")
        callbacks = _callback_list(callbacks)
        history = History()
        if saved is not None:
            checkpoint.restore(self, saved, training)
            history.history = {k: list(v) for k, v in training["history"].items()}
            history.epoch = list(training["history_epochs"])
            initial_epoch = training["epoch"] + 1
        if val_batches is not None and not data_adapter._is_loader(val_x):
            self._check_validation_targets(val_batches)
        # History and progress come after the user's callbacks, so they see what those add to logs
        bar = progress.make(verbose)
        callback_list = CallbackList([*callbacks, history, *([bar] if bar else [])], self,
                                     self._params(train_batches, val_batches, epochs, verbose))
        if training is not None:
            callback_list.restore(training.get("callbacks", {}))
        self.history = history
        self._fit_state = {"split_seed": split_seed, "history": history, "callbacks": callback_list,
                           "epoch": None, "logs": None}
        self.stop_training = False
        self._new_run()
        epoch_logs = {}
        try:
            callback_list.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                self._fit_state["epoch"] = epoch
                callback_list.on_epoch_begin(epoch)
                epoch_logs = self._train_epoch(train_batches, callback_list, unpack)
                if val_batches is not None:
                    val_logs = self._evaluate_batches(val_batches)
                    epoch_logs.update(("val_" + key, value) for key, value in val_logs.items())
                self._fit_state["logs"] = epoch_logs
                callback_list.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            callback_list.on_train_end(epoch_logs)
        finally:
            self._fit_state = None
        return history

    def _check_validation_targets(self, batches):
        """Check the validation targets before training, not after a first epoch has changed the weights.

        Runs the first validation batch forward (eval mode, no graph, nothing drawn at random) when
        the model is built and uses the built-in test_step; lazy models are checked at epoch end.
        """
        if type(self).test_step is not Model.test_step or self._compiled.loss is None or \
                not self._fully_built():
            return
        x, y = data_adapter.unpack(next(iter(batches)), "fit (validation)")
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                output = self(self._input(x))
        finally:
            self.train(was_training)
        y = y.data if isinstance(y, Tensor) else numpy.asarray(y)
        try:
            targets.check(self._compiled.loss_name, getattr(output, "shape", None), y)
        except ChainruleError as error:
            raise type(error)(f"fit: validation_data: {error}") from None

    def _train_epoch(self, batches, callback_list, unpack=data_adapter.unpack):
        self.train()
        self._reset_metrics()
        hooks = bool(callback_list.train_batch)
        train_step = self.train_step
        for step, batch in enumerate(batches):
            x, y = unpack(batch, "fit")
            if hooks:
                callback_list.on_train_batch_begin(step)
            result = train_step(x, y)
            if isinstance(result, dict):  # a custom step's named values (the built-in returns a float)
                self._track_step_logs(result, x, "train_step")
            if hooks:
                callback_list.on_train_batch_end(step, self._logs())
            if self.stop_training:
                break
        return self._logs()

    def _evaluate_batches(self, batches):
        if type(self).test_step is Model.test_step and self._compiled.loss is None:
            raise ChainruleError(f"{type(self).__name__}: evaluating needs a loss or a test_step; hint: "
                                 "compile(loss=...) or override test_step(x, y) to return named values")
        was_training = self.training
        self.eval()
        self._reset_metrics()
        try:
            for batch in batches:
                x, y = data_adapter.unpack(batch, "evaluate")
                result = self.test_step(x, y)
                if isinstance(result, dict):
                    self._track_step_logs(result, x, "test_step")
        finally:
            self.train(was_training)
        return self._logs()

    def _params(self, train_batches, val_batches, epochs, verbose):
        def size(batches):
            dataset = getattr(batches, "dataset", None)
            return len(dataset) if dataset is not None else None

        return {"epochs": epochs, "verbose": verbose, "steps": data_adapter.length(train_batches),
                "samples": size(train_batches), "val_samples": size(val_batches) if val_batches else None}

    # ---------------------------------------------------------------- evaluate, predict, single batches
    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, return_dict=False):
        """The loss and metrics over (x, y): ``loss``, or ``[loss, *metrics]`` when there are metrics."""
        self._require_compiled("evaluate")
        self._new_run()
        logs = self._evaluate_batches(data_adapter.batches(x, y, batch_size, False, "evaluate"))
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
                if isinstance(x, (numpy.ndarray, Tensor, list)):
                    array = data_adapter.as_array(x)
                    self._refuse_one_unbatched_sample(array)
                    chunks = (array[i:i + batch_size] for i in range(0, len(array), batch_size))
                else:
                    loader = data_adapter.batches(x, None, batch_size, False, "predict")
                    chunks = (data_adapter.inputs_of(batch) for batch in loader)
                for chunk in chunks:
                    outputs.append(self(self._input(chunk)))
        finally:
            self.train(was_training)
        if not outputs:
            raise ChainruleError("predict: got no samples")
        return data_adapter.concatenate(outputs)

    def _refuse_one_unbatched_sample(self, array):
        """predict(x[0]) is a common slip: say so, rather than cut one sample into a batch of pieces."""
        spec = self._known_input_spec()
        if spec is None or array.ndim != len(spec["shape"]) - 1:
            return
        if all(want is None or want == got for want, got in zip(spec["shape"][1:], array.shape, strict=True)):
            expected = ", ".join(["batch", *("?" if s is None else str(s) for s in spec["shape"][1:])])
            raise ShapeError(f"{type(self).__name__}.predict: expects a batch of shape ({expected}), got one "
                             f"sample of shape {array.shape}; hint: predict(x[None]) or "
                             "predict(x.reshape(1, *x.shape)) for a batch of one")

    def train_on_batch(self, x, y, reset_metrics=True, return_dict=False):
        """One train_step on (x, y); returns the loss, or ``[loss, *metrics]`` over this batch."""
        self._require_compiled("train_on_batch")
        if reset_metrics:
            self._reset_metrics()
        self._new_run()
        self.train()
        result = self.train_step(x, y)
        if isinstance(result, dict):
            self._track_step_logs(result, x, "train_step")
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
                self._track_step_logs(result, x, "test_step")
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


def _callback_list(callbacks):
    """fit's ``callbacks``, checked: a list of Callback objects (a lone callback is a common slip)."""
    from chainrule.train.callbacks import Callback

    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise ConfigError("fit: callbacks must be a list of Callback objects, got "
                             f"{type(callbacks).__name__}; hint: callbacks=[EarlyStopping(...)]")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise ConfigError(f"fit: callbacks must be Callback objects, got a {type(callback).__name__} "
                                 "in the list; hint: subclass cr.callbacks.Callback, or pass an instance "
                                 "(EarlyStopping(), not EarlyStopping)")
    return list(callbacks)


def _batch_length(x):
    """The number of samples in a batch of inputs (an array, a Tensor, or a tuple/dict of them)."""
    if isinstance(x, (tuple, list)):
        x = x[0]
    elif isinstance(x, dict):
        x = next(iter(x.values()))
    return len(x)


def _inputs_only_batches(x, batch_size, shuffle):
    """Batches of inputs alone (as 1-tuples), for a custom train_step that needs no targets."""
    from chainrule.data import DataLoader, TensorDataset

    x = data_adapter.as_array(x)
    if x.ndim == 0 or len(x) == 0:
        raise ChainruleError(f"fit: got no samples (x has shape {x.shape})")
    return DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=shuffle)


def _inputs_only(batch, where):
    return batch[0], None


def _result(logs, return_dict):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
