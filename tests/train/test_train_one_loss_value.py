"""The Keras-named losses report one value for the same weights: in training, evaluate and val_loss."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("loss, activation, units, targets", [
    ("categorical_crossentropy", "softmax", 3, np.eye(3, dtype="float32")[[0, 1, 2, 0]]),
    ("sparse_categorical_crossentropy", "softmax", 3, np.array([0, 1, 2, 0])),
    ("binary_crossentropy", "sigmoid", 1, np.array([[0.0], [1.0], [1.0], [0.0]], "float32")),
])
def test_training_and_evaluate_agree_on_saturated_predictions(loss, activation, units, targets):
    model = cr.Sequential([cr.nn.Dense(units, activation=activation, input_shape=(2,))])
    model.compile(loss=loss, optimizer=cr.optim.SGD(lr=0.0))  # lr 0: the weights stay as they are
    with cr.no_grad():  # logits of size ~1e8: probabilities exactly 0 and 1, far past the clipping
        model.layers[0].weight.data[...] = np.array([[1e8, -1e8], [-1e8, 1e8], [3e7, 2e7]])[:units]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 1.0]], "float32")
    trained = model.train_on_batch(x, targets)
    evaluated = model.evaluate(x, targets, batch_size=4)
    assert trained > 1e6  # the exact (logits) value, not the clipped one (at most -log(1e-7) ~ 16)
    assert evaluated == pytest.approx(trained, rel=1e-6)
    history = model.fit(x, targets, batch_size=4, epochs=1, verbose=0, validation_data=(x, targets),
                        stop_on_nan=False)
    assert history.history["val_loss"][0] == pytest.approx(history.history["loss"][0], rel=1e-6)
