"""keras.metrics take Keras's order (y_true, y_pred), standalone and in compile (#12)."""

import numpy
import pytest

from chainrule import keras
from chainrule.keras import layers


def test_metric_classes_reproduce_the_examples_in_kerass_docs():
    m = keras.metrics.Accuracy()  # exact matches, not argmax
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert m.result() == pytest.approx(0.75)
    m = keras.metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == pytest.approx(0.75)
    m = keras.metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result() == pytest.approx(0.5)
    m.reset_state()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    assert m.result() == pytest.approx(0.3)
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    assert m.result() == pytest.approx(0.5)
    assert keras.metrics.sparse_categorical_accuracy(numpy.array([1]), numpy.array([[0.2, 0.8]]))[0] == 1


def test_compile_takes_metric_objects_and_functions_in_kerass_order():
    def always_true_share(y_true, y_pred):  # y_true first, as Keras calls it
        assert numpy.asarray(y_pred).shape[-1] == 2 and numpy.asarray(y_true).ndim == 1
        return numpy.ones(len(y_true))

    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(), always_true_share, "accuracy"])
    x = numpy.random.default_rng(0).standard_normal((10, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    history = model.fit(x, y, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "always_true_share", "accuracy"}
    assert history.history["always_true_share"] == [1.0]
    assert history.history["sparse_categorical_accuracy"] == history.history["accuracy"]
