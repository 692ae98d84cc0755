"""cr.tune.search and OptunaPruning: grid exhaustion, seeded repeats, clean pruning, shared studies."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError

from .conftest import build_regressor, regression_data

pytest.importorskip("optuna")
FIT = {"epochs": 3, "batch_size": 16, "validation_split": 0.25}


def summary(study):
    return [(t.number, t.state.name, t.params, t.value, t.user_attrs.get("seed")) for t in study.trials]


def test_grid_search_stops_when_the_grid_is_exhausted(quiet_optuna):
    x, y = regression_data()
    space = {"units": [4, 8], "lr": [0.01, 0.05, 0.1]}
    study = cr.tune.search(build_regressor, x, y, n_trials=50, sampler="grid", search_space=space, **FIT)
    assert len(study.trials) == 6
    tried = {(t.params["units"], t.params["lr"]) for t in study.trials}
    assert tried == {(u, lr) for u in space["units"] for lr in space["lr"]}
    assert study.best_trial.value == min(t.value for t in study.trials)


def test_the_same_seed_gives_the_same_trials_twice(quiet_optuna):
    x, y = regression_data()
    runs = [summary(cr.tune.search(build_regressor, x, y, n_trials=5, sampler="tpe", seed=seed, **FIT))
            for seed in (7, 7, 8)]
    assert runs[0] == runs[1]  # the same points, weights, shuffles: the same values
    assert len({t[3] for t in runs[0]}) == 5  # five different trials, not one repeated
    assert [t[2] for t in runs[2]] != [t[2] for t in runs[0]]  # another seed, other points


class _Recorder(cr.callbacks.Callback):
    """A callback with something to close: did on_train_end run?"""

    closed = False

    def on_train_end(self, logs=None):
        self.closed = True


def test_a_pruned_trial_leaves_fit_cleanly(quiet_optuna, tmp_path):
    optuna = quiet_optuna
    x, y = regression_data()
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))  # prunes at once
    trial = study.ask()
    model = build_regressor(trial)
    stopper = cr.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True, patience=5)
    csv, recorder = cr.callbacks.CSVLogger(tmp_path / "log.csv"), _Recorder()
    pruning = cr.callbacks.OptunaPruning(trial, monitor="val_loss")
    with pytest.raises(optuna.TrialPruned, match="epoch 1"):
        model.fit(x, y, epochs=5, validation_split=0.25, verbose=0,
                  callbacks=[pruning, stopper, csv, recorder])
    assert recorder.closed and csv._file is None  # the callbacks after the pruner closed too
    assert cr.is_grad_enabled() and model.training
    assert model._fit_state is None
    assert len(model.history.history["loss"]) == 1  # stopped after the first epoch
    assert trial.number == 0 and study.trials[0].intermediate_values.keys() == {0}
    for name, value in model.state_dict().items():  # EarlyStopping restored its best weights whole
        np.testing.assert_array_equal(value, stopper.best_weights[name])
    assert model.fit(x, y, epochs=1, verbose=0).history["loss"]  # and the model trains again


def test_search_prunes_trials_that_fall_behind(quiet_optuna):
    optuna = quiet_optuna
    x, y = regression_data()
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2)
    study = cr.tune.search(build_regressor, x, y, n_trials=10, sampler="random", seed=1, pruner=pruner,
                           epochs=4, batch_size=16, validation_split=0.25)
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states
    assert len(states) == 10 and all(s.is_finished() for s in states)


def test_mistakes_are_named_before_any_training():
    x, y = regression_data()
    with pytest.raises(ConfigError, match="search_space"):
        cr.tune.search(build_regressor, x, y, n_trials=2, sampler="grid", epochs=1, validation_split=0.25)
    with pytest.raises(ConfigError, match="validation"):
        cr.tune.search(build_regressor, x, y, n_trials=2, epochs=1)
    with pytest.raises(ConfigError, match="unknown sampler"):
        cr.tune.search(build_regressor, x, y, n_trials=2, sampler="bayes", epochs=1, validation_split=0.25)
    with pytest.raises(ConfigError, match="journal:"):
        cr.tune.search(build_regressor, x, y, n_trials=2, storage="study.log", study_name="s",
                       epochs=1, validation_split=0.25)


WORKER = textwrap.dedent("""
    import sys
    import optuna
    import chainrule as cr
    from tune_helpers import build_regressor, regression_data

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y = regression_data()
    cr.tune.search(build_regressor, x, y, n_trials=4, sampler="random", pruner="none", seed=int(sys.argv[2]),
                   storage="journal:" + sys.argv[1], study_name="shared", epochs=2, batch_size=16,
                   validation_split=0.25)
""")


def test_three_processes_on_one_journal_file_lose_no_trial(quiet_optuna, tmp_path):
    optuna = quiet_optuna
    (tmp_path / "tune_helpers.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    (tmp_path / "worker.py").write_text(WORKER)
    journal = tmp_path / "study.log"
    cr.tune.create_study(f"journal:{journal}", "shared")  # once, before the workers start
    workers = [subprocess.Popen([sys.executable, "worker.py", str(journal), str(seed)], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for seed in range(3)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="shared", storage=cr.tune.storage.open_storage(f"journal:{journal}"))
    assert sorted(t.number for t in study.trials) == list(range(12))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({t.user_attrs["seed"] for t in study.trials}) == 12
