"""Callbacks that watch a monitored quantity: EarlyStopping, ReduceLROnPlateau, ModelCheckpoint.

Both compare each epoch's value of ``monitor`` (a key of the epoch logs, such as "val_loss") with the
best so far, in the direction ``mode`` says ("auto": higher is better for accuracies, lower for
losses), and act when it has not improved by more than ``min_delta`` for ``patience`` epochs.
"""

import math
import os
import warnings

from chainrule.errors import ChainruleError, ConfigError
from chainrule.train.callbacks import Callback, get_lr, logger, model_optimizers, set_lr


def _monitor_mode(monitor, mode, who):
    if mode not in ("auto", "min", "max"):
        raise ChainruleError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        higher_is_better = ("acc", "accuracy", "precision", "recall", "auc")
        mode = "max" if any(monitor.endswith(name) for name in higher_is_better) else "min"
    return mode


class _Monitor:
    """Is a new value of a monitored quantity better than the best so far, by more than min_delta?"""

    def __init__(self, monitor, mode, min_delta, who):
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, who)
        self.min_delta = abs(min_delta)
        self.who = who
        self.reset()

    def reset(self):
        """Forget the best value: the next one is an improvement whatever it is."""
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            known = ", ".join(sorted(logs or {})) or "none"
            warnings.warn(f"{self.who}: '{self.monitor}' is not in the logs (available: {known}); "
                          "hint: pass validation_data or validation_split to get val_ metrics",
                          stacklevel=3)
        return value

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class _PatienceCallback(Callback):
    """What EarlyStopping and ReduceLROnPlateau share: a monitor, a patience count, and a memory
    that a new run forgets unless it was just restored from a checkpoint."""

    def __init__(self, monitor, mode, min_delta, patience, verbose):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self._tracker = _Monitor(monitor, mode, min_delta, type(self).__name__)
        self._restored = False
        self._reset()

    def _reset(self):
        self.wait = 0
        self._tracker.reset()

    def on_train_begin(self, logs=None):
        if not self._restored:  # a resumed run keeps the checkpoint's memory
            self._reset()
        self._restored = False


class EarlyStopping(_PatienceCallback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights`` the model ends with the weights of its best epoch, whatever ended
    training: patience running out, the last epoch, or another callback stopping it.
    ``best_epoch`` and ``stopped_epoch`` (0 when it did not stop) say what happened.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, mode="auto",
                 restore_best_weights=False, verbose=0, baseline=None):
        self.restore_best_weights = restore_best_weights
        self.baseline = baseline
        super().__init__(monitor, mode, min_delta, patience, verbose)

    def _reset(self):
        super()._reset()
        self.stopped_epoch = 0
        self.best_epoch = None
        self.best_weights = None
        if self.baseline is not None:
            self._tracker.best = self.baseline

    def on_epoch_end(self, epoch, logs=None):
        value = self._tracker.value(logs)
        if value is None:
            return
        self.wait += 1
        if self._tracker.improved(value):
            self._tracker.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            self.report(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            self.report(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")

    def on_train_interrupted(self, error):
        """fit ends by an exception or Ctrl-C: restore the best weights all the same, and say so."""
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            logger.warning("EarlyStopping: fit ended by %s; restored the weights of the best epoch %d "
                           "(%s = %.6g)", type(error).__name__, self.best_epoch + 1, self.monitor,
                           self._tracker.best)

    def get_state(self):
        # the best weights travel too (as arrays in the checkpoint), so a resumed run restores them
        return {"wait": self.wait, "best": self._tracker.best, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights}

    def set_state(self, state):
        self.wait = state["wait"]
        self._tracker.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.best_weights = state.get("best_weights")
        self._restored = True


class ReduceLROnPlateau(_PatienceCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    After a reduction it waits ``cooldown`` epochs before counting again, and never goes below
    ``min_lr``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        if not 0 < factor < 1:
            raise ChainruleError(f"ReduceLROnPlateau: factor must lie in (0, 1), got {factor}")
        self.factor = factor
        self.cooldown = cooldown
        self.min_lr = min_lr
        super().__init__(monitor, mode, min_delta, patience, verbose)

    def _reset(self):
        super()._reset()
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._tracker.value(logs)
        if value is None:
            return
        optimizers = model_optimizers(self.model, "ReduceLROnPlateau")
        if logs is not None:
            logs["lr"] = get_lr(optimizers[0])
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._tracker.improved(value):
            self._tracker.best = value
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                for optimizer in optimizers:  # each keeps its own rate (a GAN's two players may differ)
                    old = get_lr(optimizer)
                    new = max(old * self.factor, self.min_lr)
                    if old > new:
                        set_lr(optimizer, new)
                        self.report(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                                    f"{new:.6g}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def get_state(self):
        return {"wait": self.wait, "best": self._tracker.best, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.wait = state["wait"]
        self._tracker.best = state["best"]
        self.cooldown_counter = state["cooldown_counter"]
        self._restored = True


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of every epoch, or only when it improved.

    ``filepath`` may hold fields filled from the epoch (counted from 1) and the logs, as in Keras:
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.chainrule"``. A full save includes the optimiser state and the
    training state (epoch, random streams, history), so ``fit(resume_from=path)`` continues the run.
    A model of your own class (one with a custom train_step) is saved under the name that
    ``custom_objects`` (``{"Name": cls}``) gives it, as in ``model.save``.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, save_weights_only=False,
                 mode="auto", verbose=0, custom_objects=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.custom_objects = custom_objects  # {"Name": cls} for a model of your own class (see Model.save)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.verbose = verbose
        self._tracker = _Monitor(monitor, mode, 0, "ModelCheckpoint")
        self.last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._tracker.value(logs)
            if value is None or not self._tracker.improved(value):
                if value is not None:
                    self.report(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                                f"{self._tracker.best:.5f}")
                return
            self.report(f"Epoch {epoch + 1}: {self.monitor} improved from {self._tracker.best:.5f} to "
                        f"{value:.5f}")
            self._tracker.best = value
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            fields = ", ".join(["epoch", *logs])
            raise ConfigError(f"ModelCheckpoint: cannot fill in the file name {self.filepath!r} "
                                 f"({error!r}); expected fields among: {fields}; hint: validation values "
                                 "(val_loss) need validation_data or validation_split") from None
        self.report(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path, custom_objects=self.custom_objects)
        self.last_saved = path

    def get_state(self):
        return {"best": self._tracker.best}

    def set_state(self, state):
        self._tracker.best = state["best"]
