"""``keras.callbacks``: the callbacks ``fit`` accepts, with Keras's names, arguments and hooks.

The engine's callbacks do the work; the learning-rate callbacks log the rate they set as Keras 3
does, under ``"learning_rate"`` (the engine, like Keras 2, says ``"lr"``), so ``history.history``
has Keras's keys, and :class:`LambdaCallback` takes Keras's hook functions.
"""

from chainrule.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    TensorBoard,
    TerminateOnNaN,
)
from chainrule.callbacks import LearningRateScheduler as _LearningRateScheduler
from chainrule.callbacks import ReduceLROnPlateau as _ReduceLROnPlateau


class _RateAsKeras3Logs:
    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None and "lr" in logs:
            logs["learning_rate"] = logs.pop("lr")


class ReduceLROnPlateau(_RateAsKeras3Logs, _ReduceLROnPlateau):
    """``ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
    min_delta=1e-4, cooldown=0, min_lr=0.0)``, in Keras's argument order."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__(monitor=monitor, factor=factor, patience=patience, mode=mode, min_delta=min_delta,
                         cooldown=cooldown, min_lr=min_lr, verbose=verbose)


class LearningRateScheduler(_RateAsKeras3Logs, _LearningRateScheduler):
    """``LearningRateScheduler(schedule, verbose=0)``: ``schedule(epoch, lr)`` or ``schedule(epoch)``."""


class LambdaCallback(Callback):
    """``LambdaCallback(on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
    on_train_batch_begin=None, on_train_batch_end=None)``: Keras's callback made of functions
    (``f(epoch, logs)``, ``f(logs)``, ``f(batch, logs)``)."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
              "on_train_batch_end")

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        legacy = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}
        unknown = [k for k in kwargs if k not in legacy]
        if unknown:
            raise TypeError(f"LambdaCallback: unrecognized keyword argument {unknown[0]!r}")
        given = dict(zip(self._HOOKS, (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end,
                                       on_train_batch_begin, on_train_batch_end)))
        for old, new in legacy.items():
            given[new] = given[new] or kwargs.get(old)
        self._functions = {k: f for k, f in given.items() if f is not None}
        if "on_train_batch_begin" not in self._functions and "on_train_batch_end" not in self._functions:
            # no batch function: the loop need not call this callback per batch (it looks at the class)
            self.__class__ = _EpochLambdaCallback

    def _run(self, hook, *args):
        function = self._functions.get(hook)
        if function is not None:
            function(*args)

    def on_epoch_begin(self, epoch, logs=None):
        self._run("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._run("on_epoch_end", epoch, logs)

    def on_train_begin(self, logs=None):
        self._run("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._run("on_train_end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._run("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._run("on_train_batch_end", batch, logs)


class _EpochLambdaCallback(LambdaCallback):
    on_train_batch_begin = Callback.on_train_batch_begin
    on_train_batch_end = Callback.on_train_batch_end


__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN"]
