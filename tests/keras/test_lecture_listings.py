"""The lectures' Keras MLP and keras.io's simple MNIST convnet, with only the imports changed (#12).

Each runs on a few batches of the embedded MNIST subset; the listings are otherwise as written.
"""

import runpy
from pathlib import Path

import numpy
import pytest

from chainrule import keras
from chainrule.keras.datasets import mnist
from chainrule.keras.layers import Dense, Dropout
from chainrule.keras.models import Sequential
from chainrule.keras.optimizers import RMSprop

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_lecture_mlp_runs_with_only_its_imports_changed(capsys):
    batch_size, num_classes, epochs = 128, 10, 1
    with pytest.warns(UserWarning, match="embedded subset"):
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, y_train, x_test, y_test = x_train[:512], y_train[:512], x_test[:256], y_test[:256]
    x_train = x_train.reshape(-1, 784)
    x_test = x_test.reshape(-1, 784)
    x_train = x_train.astype('float32')
    x_test = x_test.astype('float32')
    x_train /= 255
    x_test /= 255
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Dense(512, activation='relu', input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation='relu'))
    model.add(Dropout(0.2))
    model.add(Dense(num_classes, activation='softmax'))
    model.summary()
    model.compile(loss='categorical_crossentropy', optimizer=RMSprop(), metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=1,
                        validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)

    out = capsys.readouterr().out
    assert "Total params: 669,706" in out and "Epoch 1/1" in out
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(score) == 2 and score[0] == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert score[1] > 0.3  # four batches of RMSprop already beat chance (0.1) by far


def test_the_keras_io_simple_mnist_convnet_runs_and_has_kerass_parameter_count(capsys, monkeypatch, tmp_path):
    # the listing is examples/mnist_convnet_keras.py (keras.io's, imports changed), run here in its short mode
    monkeypatch.setenv("CHAINRULE_EXAMPLE_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="embedded subset"):
        run = runpy.run_path(str(EXAMPLES / "mnist_convnet_keras.py"))
    model, score = run["model"], run["score"]
    out = capsys.readouterr().out
    assert "Total params: 34,826" in out and "(None, 5, 5, 64)" in out
    assert model.count_params() == 34826
    assert [w.shape for w in model.get_weights()] == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 10),
                                                      (10,)]
    assert set(model.history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(score) == 2 and numpy.isfinite(score[0])
    assert "reloaded: 34826 parameters" in out
