"""A Model subclass's own train_step/test_step: named values averaged by fit, seen by callbacks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError

# ten samples in batches of 4, 4 and 2: an uneven last batch
X = np.arange(10, dtype="float32").reshape(10, 1)
Y = (2.0 * X + 1.0).astype("float32")
WEIGHTED_MEAN = float(X.mean())  # 4.5: each sample counted once
UNWEIGHTED_MEAN = float(np.mean([X[:4].mean(), X[4:8].mean(), X[8:].mean()]))  # 5.1667: each batch once


class BatchMeans(cr.Model):
    """Counts its steps in a parameter and reports each batch's mean input (as a float and a Tensor)."""

    def __init__(self):
        super().__init__()
        self.steps = cr.nn.Parameter(cr.zeros(1))

    def forward(self, x):
        return x

    def train_step(self, x, y):
        self.steps.data += 1.0
        return {"x_mean": float(np.mean(x)), "twice_x_mean": cr.tensor(2.0 * np.mean(x))}

    def test_step(self, x, y):
        return {"x_mean": float(np.mean(x))}


def test_compile_needs_nothing_for_a_custom_step_and_still_a_loss_for_the_built_in_one():
    model = BatchMeans()
    model.compile()
    assert model.loss is None and model.optimizer is None and model.metrics == []
    with pytest.raises(ChainruleError, match="no loss"):
        cr.Model(cr.nn.Linear(1, 1)).compile()
    default = cr.Model(cr.nn.Linear(1, 1))
    default.compile(loss="mse")
    assert isinstance(default.optimizer, cr.optim.RMSprop)  # Keras's default optimiser is kept


def test_named_values_are_averaged_over_uneven_batches_by_sample_count():
    model = BatchMeans()
    model.compile()
    for shuffle in (False, True):
        history = model.fit(X, Y, batch_size=4, epochs=2, shuffle=shuffle, verbose=0)
        assert set(history.history) == {"x_mean", "twice_x_mean"}  # no "loss": none was compiled
        assert history.history["x_mean"] == pytest.approx([WEIGHTED_MEAN] * 2, abs=1e-12)
        assert history.history["twice_x_mean"] == pytest.approx([2 * WEIGHTED_MEAN] * 2, rel=1e-6)
        assert abs(history.history["x_mean"][0] - UNWEIGHTED_MEAN) > 0.5
    assert float(model.steps.data[0]) == 2 * 2 * 3  # two fits of two epochs of three batches


def test_named_values_reach_the_progress_lines_and_batch_logs(capsys):
    seen = []

    class BatchLogs(cr.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    model = BatchMeans()
    model.compile()
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=1, callbacks=[BatchLogs()])
    assert f"x_mean: {WEIGHTED_MEAN:.4f}" in capsys.readouterr().out
    assert [logs["x_mean"] for logs in seen] == pytest.approx([1.5, 3.5, WEIGHTED_MEAN])  # running means


def test_validation_and_evaluate_use_a_custom_test_step():
    model = BatchMeans()
    model.compile()
    x_val = np.array([[1.0], [2.0], [3.0], [10.0], [20.0]], dtype="float32")
    history = model.fit(X, Y, batch_size=4, epochs=1, validation_data=(x_val, x_val), verbose=0)
    assert history.history["val_x_mean"] == pytest.approx([float(x_val.mean())])
    assert model.evaluate(x_val, x_val, batch_size=2, return_dict=True) == pytest.approx(
        {"x_mean": float(x_val.mean())})
    assert model.train_on_batch(X[:3], Y[:3], return_dict=True)["x_mean"] == pytest.approx(1.0)


def test_evaluate_without_loss_or_test_step_says_what_is_missing():
    class OnlyTrainStep(cr.Model):
        def forward(self, x):
            return x

        def train_step(self, x, y):
            return {"x_mean": float(np.mean(x))}

    model = OnlyTrainStep()
    model.compile()
    with pytest.raises(ChainruleError, match="test_step"):
        model.evaluate(X, Y)


def test_early_stopping_monitors_a_named_value_and_restores_its_best_epoch():
    script = [3.0, 1.0, 2.0, 2.5, 0.5, 0.1]

    class Scripted(BatchMeans):
        epoch = 0

        def train_step(self, x, y):
            super().train_step(x, y)
            # each batch reports script[epoch] scaled by its mean; the sample-weighted mean is script[epoch]
            return {"score": script[self.epoch] * float(np.mean(x)) / WEIGHTED_MEAN}

    class EpochCounter(cr.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.epoch = epoch

    model = Scripted()
    model.compile()
    stopper = cr.callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(X, Y, batch_size=4, epochs=6, shuffle=False, verbose=0,
                        callbacks=[EpochCounter(), stopper])
    assert history.history["score"] == pytest.approx(script[:4])
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    assert float(model.steps.data[0]) == 2 * 3  # the weights after epoch 1 (three steps per epoch)


def test_a_custom_step_with_its_own_optimiser_trains_without_targets():
    class Centre(cr.Model):
        """Learns the mean of its inputs with its own optimiser; fit(x) brings no targets."""

        def __init__(self):
            super().__init__()
            self.centre = cr.nn.Parameter(cr.zeros(1))
            self.own_optimizer = cr.optim.GD([self.centre], lr=0.1)

        def forward(self, x):
            return self.centre

        def train_step(self, x, y):
            assert y is None
            self.own_optimizer.zero_grad()
            loss = ((cr.tensor(x) - self.centre) ** 2).mean()
            loss.backward()
            self.own_optimizer.step()
            return {"spread": loss}

    model = Centre()
    model.compile()
    history = model.fit(X, batch_size=10, epochs=60, verbose=0)
    assert float(model.centre.data[0]) == pytest.approx(WEIGHTED_MEAN, abs=1e-3)
    assert history.history["spread"][-1] < history.history["spread"][0]
    with pytest.raises(ChainruleError, match="no targets"):
        default = cr.Model(cr.nn.Linear(1, 1))
        default.compile(loss="mse")
        default.fit(X, verbose=0)


def test_a_value_that_is_not_a_scalar_is_named_in_the_error():
    class Vector(BatchMeans):
        def train_step(self, x, y):
            return {"per_sample": np.asarray(x)[:, 0]}

    model = Vector()
    model.compile()
    with pytest.raises(ChainruleError, match="'per_sample'.*scalar"):
        model.fit(X, Y, batch_size=4, verbose=0)
