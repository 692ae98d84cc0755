"""The one training loop behind ``Model.fit``: epochs of batches around ``train_step``, and evaluation.

``fit`` turns its data into batches (:mod:`chainrule.train.data_adapter`), checks what can be
checked before any weight changes (the callbacks, the validation targets), then runs epochs: each is
:func:`train_epoch` (``model.train_step`` per batch) and, with validation data,
:func:`evaluate_batches` (``model.test_step`` per batch). Callbacks see the loop only through their
hooks and ``logs``; a checkpoint written from a callback reads ``model._fit_state``.

The functions take the model as their first argument; the public doors are the Model methods.
"""

import numpy

from chainrule import arguments
from chainrule.autograd.mode import no_grad, set_detect_anomaly
from chainrule.autograd.tensor import Tensor
from chainrule.distributed import fit as distributed_fit
from chainrule.errors import ChainruleError, ConfigError, ShapeError
from chainrule.train import checkpoint, data_adapter, nan_guard, progress, targets
from chainrule.train.callbacks import Callback, CallbackList, History
from chainrule.train.metrics import Mean


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        initial_epoch, resume_from, guards=None):
    """Run ``Model.fit`` (see its docstring for the arguments); returns the History.

    ``guards``: {"stop_on_nan", "detect_anomaly", "check_finite"} as Model.fit takes them.
    """
    guards = {"stop_on_nan": True, "detect_anomaly": False, "check_finite": True, **(guards or {})}
    epochs = arguments.integer(epochs, "epochs", "fit", minimum=0)
    initial_epoch = arguments.integer(initial_epoch, "initial_epoch", "fit", minimum=0)
    strategy = distributed_fit.strategy(model)  # None on a single process
    if strategy is not None and resume_from is not None:
        resume_from = strategy.checkpoint_path(resume_from)
    saved, training = checkpoint.read(resume_from) if resume_from is not None else (None, None)
    split_seed = None
    if validation_split:
        if validation_data is not None:
            raise ChainruleError("fit: pass validation_split or validation_data, not both")
        (x, y), validation_data, split_seed = data_adapter.split(
            x, y, validation_split, None if training is None else training.get("split_seed"))
    unpack = data_adapter.unpack
    if y is None and model._has_custom_train_step() and isinstance(x, (numpy.ndarray, Tensor, list)):
        train_batches, unpack = _inputs_only_batches(x, batch_size, shuffle), _inputs_only
    else:
        train_batches = data_adapter.batches(x, y, batch_size, shuffle, "fit")
    val_batches = None
    if validation_data is not None:
        val_x, val_y = data_adapter.pair(validation_data)
        val_batches = data_adapter.batches(val_x, val_y, batch_size, False, "fit (validation)")
    if guards["check_finite"]:
        _check_finite(train_batches, "fit")
        _check_finite(val_batches, "fit (validation)")
    callbacks = _callback_list(callbacks)
    if strategy is not None:
        train_batches, val_batches = strategy.shard(train_batches, val_batches, training)
        callbacks, verbose = strategy.callbacks(callbacks, verbose)
    history = History()
    if saved is not None:
        checkpoint.restore(model, saved, training)
        history.history = {k: list(v) for k, v in training["history"].items()}
        history.epoch = list(training["history_epochs"])
        initial_epoch = training["epoch"] + 1
    if val_batches is not None and not data_adapter._is_loader(val_x):
        _check_validation_targets(model, val_batches)
    # History and progress come after the user's callbacks, so they see what those add to logs
    bar = progress.make(verbose, keras=getattr(model, "keras_verbose", False))
    callback_list = CallbackList([*callbacks, history, *([bar] if bar else [])], model,
                                 _params(train_batches, val_batches, epochs, verbose))
    if training is not None:
        callback_list.restore(training.get("callbacks", {}))
    model.history = history
    model._fit_state = {"split_seed": split_seed, "history": history, "callbacks": callback_list,
                        "epoch": None, "logs": None, "epochs": epochs, "stop_on_nan": guards["stop_on_nan"]}
    model.stop_training = False
    model._new_run()
    epoch_logs = {}
    anomaly = set_detect_anomaly(True) if guards["detect_anomaly"] else None  # on until fit ends
    try:
        if strategy is not None:
            strategy.begin()
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            model._fit_state["epoch"] = epoch
            if strategy is not None:
                strategy.epoch_begin(epoch)
            callback_list.on_epoch_begin(epoch)
            epoch_logs = train_epoch(model, train_batches, callback_list, unpack, strategy)
            if strategy is not None:
                epoch_logs = strategy.train_logs(epoch_logs)
            if val_batches is not None:
                val_logs = evaluate_batches(model, val_batches)
                if strategy is not None:
                    val_logs = strategy.val_logs(val_logs)
                epoch_logs.update(("val_" + key, value) for key, value in val_logs.items())
            model._fit_state["logs"] = epoch_logs
            callback_list.on_epoch_end(epoch, epoch_logs)
            if _stopping(model, strategy):
                break
        callback_list.on_train_end(epoch_logs)
    except BaseException as error:  # Ctrl-C included: callbacks that must act however fit ends do
        callback_list.on_train_interrupted(error)
        raise
    finally:
        model._fit_state = None
        if anomaly is not None:
            anomaly.__exit__()
        if strategy is not None:
            strategy.end()
    return history


def train_epoch(model, batches, callback_list, unpack=data_adapter.unpack, strategy=None):
    """One epoch: ``model.train_step`` on every batch, with the batch hooks; returns the epoch's logs.

    With a distributed ``strategy``, a batch hook that stops training stops every rank at that batch.
    """
    model.train()
    model._reset_metrics()
    hooks = bool(callback_list.train_batch)
    train_step = model.train_step
    step = -1
    for step, batch in enumerate(batches):
        x, y = unpack(batch, "fit")
        x, y = data_adapter.to_model_device(model, x), data_adapter.to_model_device(model, y)
        if hooks:
            callback_list.on_train_batch_begin(step)
        try:
            result = train_step(x, y)
        except nan_guard.NonFiniteStep as stop:  # before the step: the weights are still finite
            _stop_on_nan(model, str(stop), step, batches, taken=False)
            break
        if isinstance(result, dict):  # a custom step's named values (the built-in returns a float)
            track_step_values(model, result, x, "train_step")
            if nan_guard.guarding(model):
                bad = [f"{k}={v}" for k, v in model._logs().items() if not numpy.isfinite(v)]
                reason = f"train_step returned {', '.join(bad)}" if bad else None
                if strategy is not None:  # every rank stops if one does
                    reason = strategy.non_finite(reason)
                if reason:
                    _stop_on_nan(model, reason, step, batches, taken=True)
                    break
        if hooks:
            callback_list.on_train_batch_end(step, model._logs())
            if _stopping(model, strategy):
                break
        elif model.stop_training:
            break
    if step < 0:
        raise ShapeError("fit: the training data gave no batches (an empty data set or loader); hint: "
                         "check its length, and drop_last with fewer samples than batch_size")
    return model._logs()


def _stop_on_nan(model, reason, step, batches, taken):
    state = model._fit_state
    nan_guard.report(reason, state["epoch"], state["epochs"], step, data_adapter.length(batches), taken)
    model.stop_training = True


def _stopping(model, strategy):
    """model.stop_training, agreed by every rank when there are several (any rank's wish counts)."""
    if strategy is not None:
        model.stop_training = strategy.stop(model.stop_training)
    return model.stop_training


def evaluate_batches(model, batches):
    """``model.test_step`` on every batch in eval mode (the mode is restored); returns the logs."""
    compiled = model._compiled
    if not model._has_custom_test_step() and compiled.loss is None and not compiled.layer_losses:
        raise ChainruleError(f"{type(model).__name__}: evaluating needs a loss or a test_step; hint: "
                             "compile(loss=...) or override test_step(x, y) to return named values")
    was_training = model.training
    model.eval()
    model._reset_metrics()
    count = 0
    try:
        for batch in batches:
            count += 1
            x, y = data_adapter.unpack(batch, "evaluate")
            x, y = data_adapter.to_model_device(model, x), data_adapter.to_model_device(model, y)
            result = model.test_step(x, y)
            if isinstance(result, dict):
                track_step_values(model, result, x, "test_step")
    finally:
        model.train(was_training)
    if count == 0:
        raise ShapeError("evaluate: the data gave no batches (an empty data set or loader)")
    return model._logs()


def track_step_values(model, values, x, where):
    """Add the named values a custom step returned for batch ``x`` to the epoch's running means."""
    count = _batch_length(x)
    trackers = model._compiled.step_trackers
    for name, value in values.items():
        if isinstance(value, Tensor):
            value = value._data
        if numpy.ndim(value) != 0:
            raise ChainruleError(f"{type(model).__name__}.{where}: the value {name!r} it returned has "
                                 f"shape {numpy.shape(value)}, expected a scalar; hint: return e.g. "
                                 "float(loss.data) or the 0-d loss Tensor")
        tracker = trackers.get(name)
        if tracker is None:
            tracker = trackers[name] = Mean(name)
        tracker.update_mean(value, count)


def _check_validation_targets(model, batches):
    """Check the validation targets before training, not after a first epoch has changed the weights.

    Runs the first validation batch forward (eval mode, no graph, nothing drawn at random) when
    the model is built and uses the built-in test_step; lazy models are checked at epoch end.
    """
    if model._has_custom_test_step() or model._compiled.loss is None or not model._fully_built():
        return
    x, y = data_adapter.unpack(next(iter(batches)), "fit (validation)")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            output = model(data_adapter.model_input(model, x))
    finally:
        model.train(was_training)
    y = y._data if isinstance(y, Tensor) else numpy.asarray(y)
    try:
        targets.check(model._compiled.loss_name, getattr(output, "shape", None), y)
    except ChainruleError as error:
        raise type(error)(f"fit: validation_data: {error}") from None


def _check_finite(batches, where):
    """NaN or inf in array data, once per fit (a Dataset's or loader's samples are not looked at)."""
    for name, array in zip(("x", "y"), getattr(getattr(batches, "dataset", None), "arrays", ())):
        data_adapter.check_finite(array, name, where)


def _params(train_batches, val_batches, epochs, verbose):
    """What callbacks get as ``self.params``: epochs, verbosity, steps and sample counts when known."""
    def size(batches):
        dataset = getattr(batches, "dataset", None)
        return len(dataset) if dataset is not None else None

    return {"epochs": epochs, "verbose": verbose, "steps": data_adapter.length(train_batches),
            "batch_size": getattr(train_batches, "batch_size", None),
            "samples": size(train_batches), "val_samples": size(val_batches) if val_batches else None}


def _callback_list(callbacks):
    """fit's ``callbacks``, checked: a list of Callback objects (a lone callback is a common slip)."""
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
