"""The lecture's MNIST multilayer perceptron, Keras-style, and its PyTorch-style twin.

Keras-style: 784-512-512-10, ReLU, dropout 0.2, softmax, categorical cross-entropy, RMSprop,
batch 128, 20 epochs, 10% of the training digits held out for validation, stopping early when the
validation loss stops falling. PyTorch-style: the same layers in an ``nn.Module`` whose forward ends in
log-softmax, trained with the negative log-likelihood and SGD (lr 0.01, momentum 0.5).
"""

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.zoo import keras_run
from chainrule.zoo.entry import TrainOptions, ZooModel
from chainrule.zoo.mnist_data import load_digits

# the lecture runs Keras, whose RMSprop defaults (lr 1e-3, ρ 0.9, ε 1e-7) are not PyTorch's (lr 1e-2, α 0.99)
KERAS_RMSPROP = {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7}


def build():
    """The Keras-style MLP (669,706 parameters)."""
    return cr.Sequential([
        nn.Dense(512, activation="relu", input_shape=(784,)),
        nn.Dropout(0.2),
        nn.Dense(512, activation="relu"),
        nn.Dropout(0.2),
        nn.Dense(10, activation="softmax"),
    ])


class MnistNet(nn.Module):
    """The same MLP written PyTorch's way: layers in ``__init__``, the computation in ``forward``."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return F.log_softmax(self.fc3(x), axis=1)

    def get_config(self):
        return {}


def build_torch_style():
    """The PyTorch-style twin, wrapped as a ``cr.Model`` so that it trains with ``fit`` too."""
    return cr.Model(MnistNet())


def _compile(model, options=None):
    options = options or TrainOptions()
    optimizer = keras_run.optimizer_for(options, "rmsprop", **KERAS_RMSPROP)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def _compile_torch_style(model, options=None):
    options = options or TrainOptions()
    model.compile(loss=F.nll_loss, optimizer=keras_run.optimizer_for(options, "sgd", lr=0.01, momentum=0.5),
                  metrics=["sparse_categorical_accuracy"])
    return model


def _smoke(build_model, compile_model, one_hot):
    cr.manual_seed(0)
    (x, y), _ = load_digits(limit=256)
    target = cr.data.to_categorical(y, 10) if one_hot else y
    model = compile_model(build_model())
    before = keras_run.metric_value(model.evaluate(x, target, verbose=0), 0)
    model.fit(x, target, batch_size=64, epochs=3, verbose=0)
    after = keras_run.metric_value(model.evaluate(x, target, verbose=0), 0)
    return before, after


def smoke_test():
    return _smoke(build, _compile, one_hot=True)


def smoke_test_torch_style():
    return _smoke(build_torch_style, _compile_torch_style, one_hot=False)


def _train(name, build_model, compile_model, one_hot, epochs, batch_size, options, log):
    cr.manual_seed(options.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(options.data, options.limit)
    log(f"data: {len(x_train)} training and {len(x_test)} test digits")
    encode = (lambda y: cr.data.to_categorical(y, 10)) if one_hot else (lambda y: y)
    model = compile_model(build_model(), options)
    stop = cr.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = keras_run.fit(model, x_train, encode(y_train), options, epochs=epochs, batch_size=batch_size,
                            callbacks=[stop])
    result = model.evaluate(x_test, encode(y_test), verbose=0)
    loss, accuracy = keras_run.metric_value(result, 0), keras_run.metric_value(result, 1)
    log(f"test loss: {loss:.4f}")
    log(f"test accuracy: {accuracy:.4f}")
    files = {"model file": keras_run.save_model(model, options, name)}
    curve = keras_run.save_loss_curve(history, options, name, log)
    if curve is not None:
        files["loss curve"] = curve
    return {"test_loss": loss, "test_accuracy": accuracy, "files": files}


def train(options, log):
    return _train("mlp", build, _compile, True, 20, 128, options, log)


def train_torch_style(options, log):
    return _train("mlp_torch", build_torch_style, _compile_torch_style, False, 10, 64, options, log)


MLP = ZooModel(name="mlp", summary="the lecture's MNIST MLP: 784-512-512-10, ReLU, dropout 0.2, RMSprop",
               build=build, smoke_test=smoke_test, train=train)
MLP_TORCH = ZooModel(name="mlp_torch",
                     summary="the PyTorch-style twin: log-softmax + NLL, SGD lr 0.01 momentum 0.5",
                     build=build_torch_style, smoke_test=smoke_test_torch_style, train=train_torch_style)
