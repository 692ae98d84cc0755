"""OptunaPruning: let an Optuna pruner stop a trial's ``fit`` that is going nowhere.

Each ``interval`` epochs the callback reports the monitored value to the trial
(``trial.report(value, epoch)``); when the study's pruner answers ``should_prune()``, it asks fit to
stop after this epoch and raises ``optuna.TrialPruned`` from ``on_train_end``. Fit therefore ends
the ordinary way first: every callback's ``on_train_end`` runs (files and writers close,
EarlyStopping restores its best weights whole), nothing is left inside ``no_grad``, and only then
does the exception leave ``fit`` for Optuna to record the trial as pruned.
"""

from chainrule.errors import ConfigError
from chainrule.train.callbacks import Callback


class OptunaPruning(Callback):
    """Report ``monitor`` to an Optuna ``trial`` each ``interval`` epochs; prune when told to."""

    def __init__(self, trial, monitor="val_loss", interval=1):
        super().__init__()
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"OptunaPruning: interval must be a positive number of epochs, "
                              f"got {interval!r}")
        self.trial = trial
        self.monitor = monitor
        self.interval = interval
        self.pruned_epoch = None

    def on_train_begin(self, logs=None):
        self.pruned_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.interval:
            return
        logs = logs or {}
        if self.monitor not in logs:
            known = ", ".join(sorted(logs)) or "none"
            raise ConfigError(f"OptunaPruning: '{self.monitor}' is not in the epoch logs (available: "
                              f"{known}); hint: pass validation_data or validation_split for val_ values, "
                              "or monitor one of those")
        self.trial.report(float(logs[self.monitor]), epoch)
        if self.trial.should_prune():
            self.pruned_epoch, self._pruned_value = epoch, float(logs[self.monitor])
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.pruned_epoch is not None:
            import optuna

            raise optuna.TrialPruned(f"pruned after epoch {self.pruned_epoch + 1}: "
                                     f"{self.monitor} = {self._pruned_value:.4g}")
