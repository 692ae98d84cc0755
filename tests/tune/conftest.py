"""Tiny data and models for the monitoring and search tests (each fit takes milliseconds)."""

import numpy as np
import pytest

import chainrule as cr


def regression_data(n=96, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, (2 * x[:, :1] - x[:, 1:2]).astype("float32")


def build_regressor(trial):
    """A 4-units-1 network whose width and learning rate the trial chooses."""
    units = trial.suggest_categorical("units", [4, 8])
    lr = trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    model = cr.Sequential([cr.nn.Dense(units, activation="relu", input_shape=(4,)), cr.nn.Dense(1)])
    model.compile(loss="mse", optimizer=cr.optim.SGD(lr=lr))
    return model


@pytest.fixture(autouse=True)
def _seeded():
    cr.manual_seed(0)
    yield


@pytest.fixture
def quiet_optuna():
    optuna = pytest.importorskip("optuna")
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield optuna
    optuna.logging.set_verbosity(level)
