"""LeNet-5 on 28x28 digits: two convolution-pooling stages, then three fully connected layers.

conv 6@5x5 (padding 2, so 28x28 stays 28x28) → ReLU → max-pool 2 → conv 16@5x5 (→ 10x10) → ReLU →
max-pool 2 (→ 16x5x5 = 400) → 120 → 84 → 10: 61,706 parameters. Cross-entropy and SGD with momentum
0.9, batch 128.
"""

import chainrule as cr
from chainrule import nn
from chainrule.zoo import keras_run
from chainrule.zoo.entry import TrainOptions, ZooModel
from chainrule.zoo.mnist_data import load_digits


def build():
    """LeNet-5 for (N, 1, 28, 28) images; outputs class probabilities (N, 10)."""
    return cr.Sequential([
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dense(120, activation="relu", input_shape=(400,)),
        nn.Dense(84, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ])


def _compile(model, options=None):
    options = options or TrainOptions()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras_run.optimizer_for(options, "sgd", lr=0.01, momentum=0.9),
                  metrics=["accuracy"])
    return model


def smoke_test():
    cr.manual_seed(0)
    (x, y), _ = load_digits(limit=128, shape="image")
    model = _compile(build())
    before = keras_run.metric_value(model.evaluate(x, y, verbose=0), 0)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    return before, keras_run.metric_value(model.evaluate(x, y, verbose=0), 0)


def train(options, log):
    cr.manual_seed(options.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(options.data, options.limit, shape="image")
    log(f"data: {len(x_train)} training and {len(x_test)} test digits, 1x28x28")
    model = _compile(build(), options)
    history = keras_run.fit(model, x_train, y_train, options, epochs=10, batch_size=128)
    result = model.evaluate(x_test, y_test, verbose=0)
    loss, accuracy = keras_run.metric_value(result, 0), keras_run.metric_value(result, 1)
    log(f"test loss: {loss:.4f}")
    log(f"test accuracy: {accuracy:.4f}")
    files = {"model file": keras_run.save_model(model, options, "lenet5")}
    curve = keras_run.save_loss_curve(history, options, "lenet5", log)
    if curve is not None:
        files["loss curve"] = curve
    return {"test_loss": loss, "test_accuracy": accuracy, "files": files}


LENET5 = ZooModel(name="lenet5", summary="LeNet-5: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10",
                  build=build, smoke_test=smoke_test, train=train, input_shape=(1, 28, 28))
