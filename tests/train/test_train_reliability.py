"""fit however it ends: best weights restored on Ctrl-C, no training on NaN, bad settings and data refused."""

import logging
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import AnomalyError, ConfigError, DataError, DTypeError, ShapeError


def _model(mlp_factory, lr=0.1):
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.SGD(lr=lr))
    return model


class _Script(cr.callbacks.Callback):
    """Scripted val_loss per epoch, keeping each epoch's weights; raises ``error`` at ``raise_at``."""

    def __init__(self, values, raise_at, error):
        super().__init__()
        self.values, self.raise_at, self.error, self.weights = values, raise_at, error, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(self.model.get_weights())

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.raise_at:
            raise self.error


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("disk full")])
def test_early_stopping_restores_best_weights_when_fit_is_interrupted(blobs, mlp_factory, caplog, error):
    x, y = blobs
    model = _model(mlp_factory)
    script = _Script([3.0, 1.0, 2.0, 2.5], raise_at=3, error=error)
    stopper = cr.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    with caplog.at_level(logging.WARNING, "chainrule"), pytest.raises(type(error)):
        model.fit(x, y, batch_size=10, epochs=10, callbacks=[script, stopper], verbose=0)
    for got, want in zip(model.get_weights(), script.weights[1]):  # epoch 2 (index 1) was the best
        np.testing.assert_array_equal(got, want)
    assert f"fit ended by {type(error).__name__}" in caplog.text and "best epoch 2" in caplog.text


def test_fit_stops_at_the_first_nan_loss_with_finite_weights_and_names_the_batch(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory, lr=1e30)  # the first step blows the weights up; the loss turns NaN after
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match=r"fit stopped at epoch 1/5, "
                                                   r"batch \d+/12: the (loss|gradient).*not taken"):
        history = model.fit(x, y, batch_size=10, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_fit_can_be_told_to_train_on_through_nan(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory, lr=1e30)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, batch_size=10, epochs=2, verbose=0, stop_on_nan=False)
    assert len(history.history["loss"]) == 2 and not math.isfinite(history.history["loss"][-1])


def test_fit_detect_anomaly_names_the_op(blobs):
    x, y = blobs

    class LogOfNegative(cr.Model):
        def __init__(self):
            super().__init__()
            self.dense = cr.nn.Dense(3, input_shape=(4,))

        def forward(self, inputs):
            return cr.log(self.dense(inputs) - 1e6)  # the line named

    model = LogOfNegative()
    model.compile(loss="mse", optimizer="sgd")
    with np.errstate(all="ignore"), pytest.raises(AnomalyError, match=r"forward of log.*the line named"):
        model.fit(x, np.zeros((len(x), 3), "float32"), epochs=1, verbose=0, detect_anomaly=True)
    assert not cr.autograd.is_anomaly_enabled()  # only for the fit


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": -3}, "epochs must be an integer >= 0, got -3"),
    ({"epochs": 2.5}, "epochs must be an integer >= 0, got 2.5"),
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
])
def test_fit_arguments_are_checked(blobs, mlp_factory, kwargs, message):
    x, y = blobs
    with pytest.raises(ConfigError, match=message):
        _model(mlp_factory).fit(x, y, verbose=0, **kwargs)


def test_predict_batch_size_is_checked(blobs, mlp_factory):
    with pytest.raises(ConfigError, match="predict: batch_size must be a positive integer, got 0"):
        _model(mlp_factory).predict(blobs[0], batch_size=0)


@pytest.mark.parametrize("make, message", [
    (lambda: cr.nn.Dense(0), "Dense: units must be a positive integer, got 0"),
    (lambda: cr.nn.Dense(-2, input_shape=(3,)), "Dense: units must be a positive integer, got -2"),
    (lambda: cr.nn.Linear(3, 0), "Linear: out_features must be a positive integer, got 0"),
    (lambda: cr.nn.Conv2d(0, 4, 3), "Conv2d: in_channels must be a positive integer, got 0"),
    (lambda: cr.nn.Conv2d(1, 4, 0), "Conv2d: kernel_size must be a positive integer, got 0"),
    (lambda: cr.nn.Embedding(10, -1), "Embedding: embedding_dim must be a positive integer, got -1"),
    (lambda: cr.nn.LSTM(4, 0), "LSTM: hidden_size must be a positive integer, got 0"),
    (lambda: cr.nn.BatchNorm1d(0), "BatchNorm1d: num_features must be a positive integer, got 0"),
    (lambda: cr.nn.LayerNorm((4, 0)), "LayerNorm: normalized_shape must be a positive integer, got 0"),
    (lambda: cr.nn.Dropout(1.5), r"Dropout: p must lie in \[0, 1\], got 1.5"),
])
def test_layer_sizes_are_checked(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("make, message", [
    (lambda p: cr.optim.SGD(p, lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
    (lambda p: cr.optim.SGD(p, lr=float("inf")), "SGD: lr must be a finite number, got inf"),
    (lambda p: cr.optim.SGD(lr=float("nan")), "SGD: lr must be a finite number, got nan"),
    (lambda p: cr.optim.SGD(p, lr=0.1, momentum=-1), "SGD: momentum must be >= 0, got -1"),
    (lambda p: cr.optim.Adam(p, betas=(1.5, 0.9)), r"Adam: betas must be in \[0, 1\)"),
    (lambda p: cr.optim.Adam(lr="fast"), "Adam: lr must be a number, got 'fast'"),
    (lambda p: cr.optim.RMSprop(p, eps=float("inf")), "RMSprop: eps must be a finite number"),
])
def test_optimiser_hyperparameters_are_checked_where_given(make, message):
    with pytest.raises(ConfigError, match=message):
        make([cr.tensor([1.0], requires_grad=True)])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_inputs_are_refused_naming_the_array_and_index(blobs, mlp_factory, bad):
    x, y = blobs
    x = x.copy()
    x[7, 2] = bad
    with pytest.raises(DataError, match=r"fit: x holds (nan|inf) at index \(7, 2\)"):
        _model(mlp_factory).fit(x, y, verbose=0)
    with pytest.raises(DataError, match=r"fit \(validation\): x holds"):
        _model(mlp_factory).fit(blobs[0], y, validation_data=(x, y), verbose=0)


def test_the_finite_check_can_be_turned_off(blobs, mlp_factory):
    x, y = blobs
    x = x.copy()
    x[0, 0] = np.nan
    with pytest.warns(RuntimeWarning, match="loss is nan"):
        _model(mlp_factory).fit(x, y, batch_size=len(x), verbose=0, check_finite=False)


def test_empty_ragged_and_object_data_get_one_clear_error(mlp_factory):
    model = _model(mlp_factory)
    empty = cr.data.TensorDataset(np.zeros((0, 4), "float32"), np.zeros(0, "int64"))
    with pytest.raises(ShapeError, match="the data set is empty"):
        model.fit(empty, verbose=0)
    with pytest.raises(ShapeError, match="fit: x is a ragged nested list"):
        model.fit([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], [0, 1], verbose=0)
    with pytest.raises(DTypeError, match="fit: x is an array of Python objects"):
        model.fit(np.array([np.ones(4), "a"], dtype=object), np.array([0, 1]), verbose=0)


def test_an_empty_loader_is_refused(mlp_factory):
    model = _model(mlp_factory)
    with pytest.raises(ShapeError, match="gave no batches"):
        model.fit(iter([]), verbose=0)


def test_callbacks_verbose_reports_as_keras_does(blobs, mlp_factory, tmp_path, capsys):
    x, y = blobs
    script = _Script([1.0, 2.0, 3.0], raise_at=None, error=None)
    callbacks = [script,
                 cr.callbacks.EarlyStopping(patience=1, restore_best_weights=True, verbose=1),
                 cr.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, verbose=1),
                 cr.callbacks.ModelCheckpoint(tmp_path / "best.safetensors", save_best_only=True,
                                              save_weights_only=True, verbose=1),
                 cr.callbacks.LearningRateScheduler(lambda epoch, lr: lr, verbose=1)]
    _model(mlp_factory).fit(x, y, batch_size=40, epochs=3, callbacks=callbacks, verbose=0)
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05." in out
    assert "Epoch 1: val_loss improved from inf to 1.00000" in out and "saving model to" in out
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.1." in out
    quiet = [cr.callbacks.EarlyStopping(patience=1, verbose=0)]
    _model(mlp_factory).fit(x, y, batch_size=40, epochs=3, callbacks=[_Script([1.0, 2.0, 3.0], None, None),
                                                                      *quiet], verbose=0)
    assert capsys.readouterr().out == ""


def test_a_custom_step_returning_nan_stops_fit_and_says_its_step_was_taken(blobs):
    class NaNStep(cr.Model):
        def __init__(self):
            super().__init__()
            self.dense = cr.nn.Dense(3, input_shape=(4,))
            self.steps = 0

        def train_step(self, x, y):
            self.steps += 1
            return {"loss": float("nan") if self.steps == 3 else 1.0}

    model = NaNStep()
    model.compile()
    with pytest.warns(RuntimeWarning, match=r"epoch 1/4, batch 3/12: train_step returned loss=nan\. A custom "
                                            r"train_step had already taken its step"):
        model.fit(blobs[0], blobs[1], batch_size=10, epochs=4, verbose=0)
    assert model.steps == 3
