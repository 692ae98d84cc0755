"""Keras's ``training`` argument and array inputs: ``model(x)`` is inference outside fit, ``training=True``
trains, nested layers and a subclass's ``call(inputs, training=None)`` follow the enclosing call (#12)."""

import numpy

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers

X = numpy.ones((64, 10), "float32")


def test_a_model_called_on_an_array_infers_unless_told_training_true():
    model = keras.Sequential([keras.Input(shape=(10,)), layers.BatchNormalization(), layers.Dropout(0.5)])
    # inference: Dropout is the identity, BatchNormalization uses its moving statistics (0 and 1)
    numpy.testing.assert_allclose(model(X).numpy(), X / numpy.sqrt(1 + 1e-3), rtol=1e-6)
    numpy.testing.assert_allclose(model(X, training=False).numpy(), X / numpy.sqrt(1 + 1e-3), rtol=1e-6)
    trained = model(X, training=True).numpy()  # batch statistics of a constant column: all zeros
    numpy.testing.assert_allclose(trained, numpy.zeros_like(X), atol=1e-6)
    assert model.layers[0].moving_mean.numpy().any()  # the training call updated the moving mean
    assert all(m.training for m in model.modules())  # the modules' own modes are left as they were


def test_a_layer_takes_training_and_arrays_as_in_keras():
    dropped = layers.Dropout(0.5)(X, training=True).numpy()
    assert (dropped == 0).any() and set(numpy.unique(dropped)) <= {0.0, 2.0}
    numpy.testing.assert_array_equal(layers.Dropout(0.5)(X, training=False).numpy(), X)
    assert layers.Dense(3)(numpy.ones((2, 5, 4), "float32")).shape == (2, 5, 3)  # unbuilt, on an array


def test_a_subclassed_models_call_gets_the_mode_and_hands_it_to_its_layers():
    class Noisy(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(10, kernel_initializer="ones")
            self.dropout = layers.Dropout(0.9)

        def call(self, inputs, training=None):
            self.modes = [*getattr(self, "modes", []), training]
            return self.dropout(self.dense(inputs), training=training)

    model = Noisy()
    numpy.testing.assert_array_equal(model(X).numpy(), numpy.full((64, 10), 10.0))
    assert (model(X, training=True).numpy() == 0).any()
    assert model.modes == [False, True]
    model.compile(optimizer="sgd", loss="mse")
    model.modes = []
    model.fit(X, numpy.zeros((64, 10), "float32"), epochs=1, batch_size=64, verbose=0)
    model.predict(X, batch_size=64, verbose=0)
    assert model.modes == [True, False]


def test_a_functional_dropout_called_with_training_true_stays_on_in_predict():
    inputs = keras.Input(shape=(10,))
    model = keras.Model(inputs, layers.Dropout(0.5)(inputs, training=True))  # Monte Carlo dropout
    assert (model.predict(X, verbose=0) == 0).any()
    assert isinstance(model(cr.tensor(X)), cr.Tensor)
