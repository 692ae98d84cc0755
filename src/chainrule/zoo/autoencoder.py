"""Autoencoders on MNIST: squeeze a digit through a narrow code and rebuild it.

``autoencoder``: 784 → 32 (ReLU) → 784 (sigmoid), 50,992 parameters, a 24.5× compression.
``deep_autoencoder``: 784-128-64-32-64-128-784, 222,384 parameters. Both learn to reproduce their
input (target = input) with binary cross-entropy per pixel and Adam. Training draws test digits above
their reconstructions, and the first layer's weights as 28x28 images (the patterns each unit looks
for).
"""

from pathlib import Path

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError
from chainrule.zoo import keras_run
from chainrule.zoo.entry import TrainOptions, ZooModel
from chainrule.zoo.mnist_data import load_digits

CODE_SIZE = 32


def build():
    """784-32-784: ReLU code, sigmoid reconstruction."""
    return cr.Sequential([
        nn.Dense(CODE_SIZE, activation="relu", input_shape=(784,)),
        nn.Dense(784, activation="sigmoid"),
    ])


def build_deep():
    """784-128-64-32-64-128-784, ReLU everywhere but the sigmoid reconstruction."""
    return cr.Sequential([
        nn.Dense(128, activation="relu", input_shape=(784,)),
        nn.Dense(64, activation="relu"),
        nn.Dense(CODE_SIZE, activation="relu"),
        nn.Dense(64, activation="relu"),
        nn.Dense(128, activation="relu"),
        nn.Dense(784, activation="sigmoid"),
    ])


def _compile(model, options=None):
    options = options or TrainOptions()
    model.compile(loss="binary_crossentropy", optimizer=keras_run.optimizer_for(options, "adam"))
    return model


def _smoke(build_model):
    cr.manual_seed(0)
    (x, _), _ = load_digits(limit=256)
    model = _compile(build_model())
    before = keras_run.metric_value(model.evaluate(x, x, verbose=0), 0)
    model.fit(x, x, batch_size=64, epochs=3, verbose=0)
    return before, keras_run.metric_value(model.evaluate(x, x, verbose=0), 0)


def draw_reconstructions(model, x_test, path, count=10):
    """Test digits (top row) above their reconstructions (bottom row)."""
    from chainrule import plots

    originals = x_test[:count]
    return plots.image_grid([originals, model.predict(originals)], path, row_titles=["input", "output"],
                            title="test digits and their reconstructions")


def first_layer(model):
    """The first Dense layer (its weight is (units, 784))."""
    for module in model.modules():
        if getattr(module, "weight", None) is not None and module.weight.ndim == 2:
            return module
    raise ChainruleError("autoencoder: the model has no Dense layer")


def _train(name, build_model, epochs, options, log):
    cr.manual_seed(options.seed)
    (x_train, _), (x_test, _) = load_digits(options.data, options.limit)
    log(f"data: {len(x_train)} training and {len(x_test)} test digits (input = target)")
    model = _compile(build_model(), options)
    history = keras_run.fit(model, x_train, x_train, options, epochs=epochs, batch_size=256,
                            samples=x_test[:8])
    loss = keras_run.metric_value(model.evaluate(x_test, x_test, verbose=0), 0)
    log(f"test reconstruction loss (binary cross-entropy): {loss:.4f}")
    files = {"model file": keras_run.save_model(model, options, name)}
    curve = keras_run.save_loss_curve(history, options, name, log)
    if curve is not None:
        from chainrule import plots

        out = Path(options.out)
        files["loss curve"] = curve
        files["reconstructions"] = draw_reconstructions(model, x_test, out / f"{name}_reconstructions.png")
        weights = first_layer(model).weight
        files["first-layer weights"] = plots.weight_images(weights, out / f"{name}_weights.png")
    return {"test_loss": loss, "files": files}


AUTOENCODER = ZooModel(
    name="autoencoder", summary="784-32-784 autoencoder (ReLU, sigmoid), 50,992 parameters",
    build=build, smoke_test=lambda: _smoke(build),
    train=lambda options, log: _train("autoencoder", build, 50, options, log))
DEEP_AUTOENCODER = ZooModel(
    name="deep_autoencoder", summary="784-128-64-32-64-128-784 autoencoder, 222,384 parameters",
    build=build_deep, smoke_test=lambda: _smoke(build_deep),
    train=lambda options, log: _train("deep_autoencoder", build_deep, 100, options, log))
