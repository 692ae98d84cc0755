"""keras.callbacks: Keras 3's log names for the learning rate, LambdaCallback, and ModelCheckpoint of a
functional model (#12)."""

import numpy

from chainrule import keras
from chainrule.keras import callbacks, layers

RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((32, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def _model():
    inputs = keras.Input(shape=(4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    return model


def test_the_learning_rate_callbacks_log_learning_rate_as_keras_3():
    history = _model().fit(X, Y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)])
    assert list(history.history) == ["loss", "learning_rate"]
    numpy.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025])
    model = _model()
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[
        callbacks.ReduceLROnPlateau("loss", 0.5, 0, 0, "auto", 10.0)])  # Keras order; 2nd epoch no gain
    # as in Keras, each epoch logs the rate it trained with; the second one's end halves it
    numpy.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1])
    assert model.optimizer.learning_rate == 0.05


def test_lambda_callback_calls_kerass_hook_functions():
    seen = []
    model = _model()
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append("begin"),
        on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))),
        on_batch_end=lambda batch, logs: seen.append(batch))])
    assert seen == ["begin", 0, 1, (0, ["loss"]), 0, 1, (1, ["loss"])]


def test_model_checkpoint_saves_a_functional_model_whole(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="loss", save_best_only=True)])
    loaded = keras.models.load_model(tmp_path / "best.keras")
    assert type(loaded) is keras.Model and loaded.evaluate(X, Y, verbose=0) > 0
