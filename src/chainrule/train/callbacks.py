"""Callbacks: code that ``fit`` calls at fixed points, with Keras's hook names.

A callback sees the model as ``self.model`` and the run's settings as ``self.params``; it talks to the
loop only through ``logs`` (the metrics so far) and ``self.model.stop_training``. The loop never
knows which callbacks exist, so stopping early, checkpoints, learning-rate changes and progress are
all callbacks, and none of them reaches into the loop. This file holds the base class, the list
that calls them, and the simple ones; those that watch a monitored quantity (EarlyStopping,
ReduceLROnPlateau, ModelCheckpoint) are in :mod:`chainrule.train.monitor`.
"""

import csv
import inspect
import logging
import math
import os
import sys

import numpy

from chainrule.errors import ChainruleError, ConfigError

logger = logging.getLogger("chainrule.train")


class Callback:
    """Base class: override the hooks you need; each receives ``logs``, a dict of numbers."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...

    # Not a Keras hook: fit calls it, instead of on_train_end, when it ends by an exception or Ctrl-C
    # (``error``), before the error goes on to the caller. Callbacks that must act however fit ends
    # (EarlyStopping's restore_best_weights) do so here.
    def on_train_interrupted(self, error): ...

    def report(self, line):
        """Write ``line`` to standard output if this callback was made with ``verbose`` > 0 (Keras's
        messages: "Epoch 5: early stopping", ...)."""
        if getattr(self, "verbose", 0):
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    # Keras 2 names the training batch hooks on_batch_*; the on_train_batch_* hooks call them.
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # A callback whose decisions depend on earlier epochs saves that memory in checkpoints, so a
    # resumed run decides as the uninterrupted one would. The state must be JSON-serialisable.
    def get_state(self):
        return None

    def set_state(self, state): ...


def _overrides(callback, *names):
    return any(getattr(type(callback), n) is not getattr(Callback, n) for n in names)


class CallbackList:
    """Calls a hook on every callback; batch hooks only on those that define one (keeps fit lean)."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        self.train_batch = [c for c in self.callbacks
                            if _overrides(c, "on_train_batch_begin", "on_train_batch_end",
                                          "on_batch_begin", "on_batch_end")]
        self.test_batch = [c for c in self.callbacks
                           if _overrides(c, "on_test_batch_begin", "on_test_batch_end")]

    def __iter__(self):
        return iter(self.callbacks)

    def on_train_begin(self, logs=None):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_train_end(self, logs=None):
        # every callback closes (files, writers) even when one raises, e.g. OptunaPruning's
        # TrialPruned; the first error is raised once all have run
        error = None
        for c in self.callbacks:
            try:
                c.on_train_end(logs)
            except BaseException as caught:  # noqa: B036  (KeyboardInterrupt too: close, then re-raise)
                error = error or caught
        if error is not None:
            raise error

    def on_train_interrupted(self, error):
        for c in self.callbacks:
            try:
                c.on_train_interrupted(error)
            except Exception:  # noqa: BLE001 - the error that ended fit is the one the caller must see
                logger.exception("%s.on_train_interrupted failed while fit was ending by %s",
                                 type(c).__name__, type(error).__name__)

    def on_epoch_begin(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for c in self.train_batch:
            c.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for c in self.train_batch:
            c.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        for c in self.callbacks:
            c.on_test_begin(logs)

    def on_test_end(self, logs=None):
        for c in self.callbacks:
            c.on_test_end(logs)

    def on_test_batch_end(self, batch, logs=None):
        for c in self.test_batch:
            c.on_test_batch_end(batch, logs)

    def states(self):
        """{"ClassName#i": state} of the callbacks that keep one (for checkpoints)."""
        states = {}
        for key, callback in self._keyed():
            state = callback.get_state()
            if state is not None:
                states[key] = state
        return states

    def restore(self, states):
        for key, callback in self._keyed():
            if key in states:
                callback.set_state(states[key])

    def _keyed(self):
        seen = {}
        for callback in self.callbacks:
            name = type(callback).__name__
            seen[name] = seen.get(name, -1) + 1
            yield f"{name}#{seen[name]}", callback


class History(Callback):
    """Records every epoch's logs: ``history["loss"]`` is the list of epoch losses. ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        # a resumed run continues the saved history (set by fit before this hook)
        self.epoch = list(self.epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class CSVLogger(Callback):
    """Write one CSV row per epoch: the epoch number, then every log value, in sorted column order."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._columns = None

    def on_train_begin(self, logs=None):
        appending = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if appending else "w", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self._columns = None
        if appending:
            with open(self.filename, newline="") as existing:
                header = next(csv.reader(existing, delimiter=self.separator), None)
            self._columns = header[1:] if header else None

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: v for k, v in (logs or {}).items() if numpy.ndim(v) == 0}
        if self._columns is None:
            self._columns = sorted(logs)
            self._writer.writerow(["epoch", *self._columns])
        self._writer.writerow([epoch, *(logs.get(k, "") for k in self._columns)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def model_optimizers(model, who):
    """The optimisers a callback adjusts: the compiled one, else those the model holds as attributes.

    A model whose own ``train_step`` brings its optimisers (a GAN's ``g_optimizer`` and
    ``d_optimizer``) is compiled without one; learning-rate callbacks then act on all of them.
    """
    from chainrule.train.checkpoint import attribute_optimizers

    if model.optimizer is not None:
        return [model.optimizer]
    found = list(attribute_optimizers(model).values())
    if not found:
        raise ChainruleError(f"{who}: the model has no optimiser to adjust (none compiled, none held as an "
                             "attribute); hint: compile(optimizer=...), or keep the optimisers your "
                             "train_step uses as attributes of the model (self.optimizer_g = ...)")
    return found


def get_lr(optimizer):
    """The learning rate of the optimiser's first parameter group (its default while unbound)."""
    if optimizer.param_groups:
        return float(optimizer.param_groups[0]["lr"])
    return float(optimizer.defaults["lr"])


def set_lr(optimizer, lr):
    """Set the learning rate of every parameter group (the default, for groups bound later)."""
    for group in optimizer.param_groups:
        group["lr"] = float(lr)
    optimizer.defaults["lr"] = float(lr)


class LearningRateScheduler(Callback):
    """Set the learning rate from a schedule: ``schedule(epoch, lr)`` or ``schedule(epoch)``.

    Epochs count from 0, as in Keras; the rate is set at each epoch's start. With ``per_batch`` the
    schedule is a function of the global step t = epoch · steps_per_epoch + batch instead (the
    functions of :mod:`chainrule.optim.schedules` are of that kind), set before each batch. Either way
    the rate depends only on the position in training, so a resumed run sets the same rates.
    """

    def __init__(self, schedule, verbose=0, per_batch=False):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        self.per_batch = per_batch
        arity = _positional_arity(schedule)
        if not callable(schedule) or arity == 0 or (arity > 2 and not _has_defaults_after_two(schedule)):
            raise ConfigError(f"LearningRateScheduler: expected a function schedule(epoch) or "
                                 f"schedule(epoch, lr), got {schedule!r}; hint: "
                                 "LearningRateScheduler(lambda epoch, lr: lr * 0.9)")
        self._takes_lr = arity >= 2
        self._epoch = 0

    def _set(self, position):
        optimizers = model_optimizers(self.model, "LearningRateScheduler")
        # all rates are computed before any is set: a schedule that fails changes nothing
        rates = [self.schedule(position, get_lr(optimizer)) if self._takes_lr else self.schedule(position)
                 for optimizer in optimizers]
        for lr in rates:
            if not isinstance(lr, (int, float, numpy.floating)) or not math.isfinite(lr):
                raise ChainruleError(f"LearningRateScheduler: the schedule returned {lr!r} at {position}; "
                                     "expected a finite number")
        for optimizer, lr in zip(optimizers, rates):
            set_lr(optimizer, lr)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self.per_batch:
            self._set(epoch)
            lr = get_lr(model_optimizers(self.model, "LearningRateScheduler")[0])
            self.report(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:.6g}.")

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_batch:
            self._set(self._epoch * (self.params.get("steps") or 0) + batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = get_lr(model_optimizers(self.model, "LearningRateScheduler")[0])


def _has_defaults_after_two(function):
    """Whether every positional parameter after the first two has a default (so (epoch, lr) fits)."""
    parameters = [p for p in inspect.signature(function).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return all(p.default is not p.empty for p in parameters[2:])


def _positional_arity(function):
    """How many positional arguments ``function`` accepts (2 for ``f(*args)``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return 1
    count = 0
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite, with the last finite weights.

    fit does this by default (``stop_on_nan=True``); this callback turns it on even where fit was
    told ``stop_on_nan=False``: the batch is stopped before its step, so no weight becomes NaN.
    """

    def on_train_begin(self, logs=None):
        if self.model._fit_state is not None:
            self.model._fit_state["stop_on_nan"] = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True
