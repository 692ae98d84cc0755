"""``cr.tune.search``: hyperparameter search with Optuna around ``fit``.

The search itself is Optuna's (the ``search`` extra): its samplers, TPE (Bergstra et al., 2011),
random search and grid search, its pruners and its storages. This module is the wiring: each trial
seeds chainrule's random streams, builds a model from the trial's suggestions, fits it with an
:class:`~chainrule.train.pruning.OptunaPruning` callback, and gives Optuna the monitored value of
the last epoch.

Many processes, on one machine or many, join one study through shared storage
(``storage="journal:PATH"`` or an RDB URL such as ``sqlite:///study.db``): create the study once
with :func:`create_study` before starting the workers (SQLite can fail when many workers create one
study at the same moment, optuna/optuna#1092), then run ``search`` with the same storage and
``study_name`` in each, each with its own ``seed`` (or none: the same seed would make every worker
sample the same points).
"""

import numpy

from chainrule.errors import ConfigError
from chainrule.tune.storage import open_storage

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")


def search(build, x, y=None, n_trials=None, sampler="tpe", search_space=None, direction="minimize",
           monitor="val_loss", pruner="median", storage=None, study_name=None, seed=None, **fit_kwargs):
    """Run an Optuna study whose trials are ``build(trial).fit(x, y, **fit_kwargs)``; returns the study.

    Arguments:
        build: ``build(trial)`` returns a compiled model, choosing its hyperparameters with
            ``trial.suggest_float("lr", 1e-4, 1e-1, log=True)``, ``trial.suggest_int``,
            ``trial.suggest_categorical``. The batch size may be suggested too: a
            ``trial.params["batch_size"]`` set by build overrides ``fit_kwargs``' batch_size.
        n_trials: trials this call runs (None with ``sampler="grid"``: until the grid is done).
        sampler: "tpe" (the default), "random", "grid", or an Optuna sampler object.
        search_space: for "grid", the values of each parameter: ``{"lr": [0.01, 0.1], ...}``; the
            study stops when every combination has been tried.
        direction: "minimize" or "maximize" ``monitor`` (a key of the epoch logs, e.g. "val_loss").
        pruner: "median" (Optuna's MedianPruner), "none", or an Optuna pruner object.
        storage, study_name: share the study between processes ("journal:PATH" or an RDB URL); a
            study of that name that exists already is joined.
        seed: seeds the sampler and, with the trial's number, each trial's weights and shuffling
            (the seed is kept as the trial's user attribute "seed"), so a study run twice with one
            seed tries the same points and gets the same values.
        fit_kwargs: passed to ``fit`` (epochs, batch_size, validation_split or validation_data,
            callbacks, ...); ``verbose`` defaults to 0. A ``validation_split`` is held out once, by
            ``seed``, so that every trial is scored on the same samples.
    """
    if n_trials is None and sampler != "grid":
        raise ConfigError("search: n_trials is needed (only a grid search ends by itself); hint: n_trials=20")
    if monitor.startswith("val_") and not (fit_kwargs.get("validation_split") or
                                           fit_kwargs.get("validation_data") is not None):
        raise ConfigError(f"search: monitor '{monitor}' needs validation data; hint: pass "
                          "validation_split=0.2 or validation_data=(x_val, y_val), or monitor='loss'")
    study = create_study(storage, study_name, direction, sampler=make_sampler(sampler, search_space, seed),
                         pruner=make_pruner(pruner))
    fit_kwargs.setdefault("verbose", 0)
    if fit_kwargs.get("validation_split"):
        # held out once, for every trial alike: a split drawn per trial would score trials on
        # different data
        from chainrule.train import data_adapter

        (x, y), fit_kwargs["validation_data"], _ = data_adapter.split(
            x, y, fit_kwargs.pop("validation_split"), 0 if seed is None else seed)

    def objective(trial):
        return run_trial(trial, build, x, y, monitor, seed, fit_kwargs)

    study.optimize(objective, n_trials=n_trials)
    return study


def run_trial(trial, build, x, y, monitor, seed, fit_kwargs):
    """One trial: seed, build, fit with pruning; the last epoch's ``monitor`` is the trial's value."""
    from chainrule.random import manual_seed
    from chainrule.train.pruning import OptunaPruning

    trial_seed = seed_for_trial(seed, trial.number)
    trial.set_user_attr("seed", trial_seed)
    manual_seed(trial_seed)
    model = build(trial)
    if getattr(model, "_compiled", None) is None:
        raise ConfigError(f"search: build(trial) must return a compiled model, got {type(model).__name__}; "
                          "hint: end build with model.compile(loss=..., optimizer=...) and return model")
    kwargs = dict(fit_kwargs)
    if "batch_size" in trial.params:
        kwargs["batch_size"] = trial.params["batch_size"]
    kwargs["callbacks"] = [*kwargs.get("callbacks", ()), OptunaPruning(trial, monitor)]
    try:
        model.fit(x, y, **kwargs)
    finally:  # a pruned trial too: how far it got
        history = model.history.history if model.history is not None else {}
        trial.set_user_attr("epochs", len(history.get("loss", ())))
    values = history.get(monitor)
    if not values:
        raise ConfigError(f"search: '{monitor}' is not in the history (available: "
                          f"{', '.join(sorted(history)) or 'none'})")
    return float(values[-1])


def seed_for_trial(seed, number):
    """The seed of trial ``number``: one stream per (study seed, trial number), 0 for a study seed of None."""
    state = numpy.random.SeedSequence([0 if seed is None else int(seed), int(number)]).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


def create_study(storage=None, study_name=None, direction="minimize", sampler=None, pruner=None):
    """Create the study, or join it where ``storage`` already holds one called ``study_name``.

    Call this once before starting workers that share ``storage``; they then join it.
    """
    import optuna

    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"search: direction must be 'minimize' or 'maximize', got {direction!r}")
    if storage is not None and study_name is None:
        raise ConfigError("search: a shared storage needs a study_name, by which the workers find the "
                          "study; hint: study_name='mlp-lr'")
    return optuna.create_study(storage=open_storage(storage), study_name=study_name, direction=direction,
                               sampler=sampler, pruner=pruner, load_if_exists=True)


def make_sampler(sampler, search_space, seed):
    """An Optuna sampler from its name ("tpe", "random", "grid"), seeded; a sampler object as it is."""
    import optuna

    if not isinstance(sampler, str):
        return sampler
    if sampler == "grid":
        if not search_space:
            raise ConfigError("search: sampler='grid' needs search_space, the values of each parameter; "
                              "hint: search_space={'lr': [0.001, 0.01], 'units': [32, 64]}")
        return optuna.samplers.GridSampler({k: list(v) for k, v in search_space.items()}, seed=seed)
    if search_space is not None:
        raise ConfigError(f"search: search_space is for sampler='grid'; the '{sampler}' sampler takes its "
                          "ranges from build's trial.suggest_* calls")
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"search: unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")


def make_pruner(pruner):
    """An Optuna pruner from its name ("median", "none"); a pruner object (or None: none) as it is."""
    import optuna

    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner()
    if isinstance(pruner, str):
        raise ConfigError(f"search: unknown pruner {pruner!r}; choose one of {', '.join(PRUNERS)}, "
                          "or pass an optuna.pruners object")
    return pruner
