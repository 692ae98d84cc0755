"""Small data and models for the training tests (seconds, not minutes)."""

import numpy as np
import pytest

import chainrule as cr


def make_blobs(n_per_class=40, classes=3, features=4, seed=0):
    """Separable Gaussian blobs, sorted by class (as the embedded MNIST subset is)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(classes, features))
    x = np.concatenate([centres[c] + rng.normal(0, 0.5, size=(n_per_class, features))
                        for c in range(classes)])
    y = np.repeat(np.arange(classes), n_per_class)
    return x.astype("float32"), y.astype("int64")


def make_mlp(features=4, classes=3, hidden=16, dropout=0.0, softmax=True):
    layers = [cr.nn.Dense(hidden, activation="relu", input_shape=(features,))]
    if dropout:
        layers.append(cr.nn.Dropout(dropout))
    layers.append(cr.nn.Dense(classes, activation="softmax" if softmax else None, input_dim=hidden))
    return cr.Sequential(layers)


@pytest.fixture
def blobs():
    return make_blobs()


@pytest.fixture
def mlp_factory():
    return make_mlp


@pytest.fixture(autouse=True)
def _seeded():
    cr.manual_seed(1234)
    yield
