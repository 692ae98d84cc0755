"""Callbacks: Keras's hooks, EarlyStopping's restoring in both endings, checkpoints, logs, schedules."""

import csv

import numpy as np
import pytest

import chainrule as cr


class ScriptedValLoss(cr.callbacks.Callback):
    """Replaces val_loss by a script and keeps each epoch's weights, to know the best epoch exactly."""

    def __init__(self, values):
        super().__init__()
        self.values = values
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(self.model.state_dict())


def _model(mlp_factory):
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.SGD(lr=0.1))
    return model


def _assert_weights(model, expected):
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_early_stopping_restores_the_best_epoch_when_patience_runs_out(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    script = ScriptedValLoss([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    stopper = cr.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, callbacks=[script, stopper], verbose=0)
    assert len(history.history["loss"]) == 4  # epochs 0..3; epoch 3 is the second without progress
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    _assert_weights(model, script.weights[1])


def test_early_stopping_restores_the_best_epoch_at_the_last_epoch(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    script = ScriptedValLoss([3.0, 2.0, 1.0, 1.5])
    stopper = cr.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    model.fit(x, y, epochs=4, callbacks=[script, stopper], verbose=0)
    assert stopper.stopped_epoch == 0 and stopper.best_epoch == 2
    _assert_weights(model, script.weights[2])


def test_early_stopping_without_restoring_keeps_the_last_weights(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    script = ScriptedValLoss([1.0, 2.0, 3.0])
    model.fit(x, y, epochs=3, callbacks=[script, cr.callbacks.EarlyStopping(patience=1)], verbose=0)
    _assert_weights(model, script.weights[1])  # stopped after epoch 1, weights of epoch 1


def test_early_stopping_min_delta_and_mode_max(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    script = ScriptedValLoss([1.0, 0.95, 0.9, 0.85])
    stopper = cr.callbacks.EarlyStopping(min_delta=0.1, patience=1)
    model.fit(x, y, epochs=4, callbacks=[script, stopper], verbose=0)
    assert stopper.stopped_epoch == 1  # 0.05 is not an improvement of 0.1
    assert cr.callbacks.EarlyStopping(monitor="val_accuracy")._tracker.mode == "max"


def test_missing_monitor_warns_with_a_hint(blobs, mlp_factory):
    x, y = blobs
    with pytest.warns(UserWarning, match="validation_split"):
        _model(mlp_factory).fit(x, y, epochs=1, callbacks=[cr.callbacks.EarlyStopping()], verbose=0)


def test_hooks_run_in_keras_order_with_the_model(blobs, mlp_factory):
    x, y = blobs
    calls = []

    class Recorder(cr.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")
            assert isinstance(self.model, cr.Model)

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_end(self, batch, logs=None):
            calls.append(f"batch_end {batch} {'loss' in logs}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            calls.append("train_end")

    _model(mlp_factory).fit(x, y, batch_size=60, epochs=2, callbacks=[Recorder()], verbose=0,
                            validation_data=(x, y))
    assert calls == ["train_begin", "epoch_begin 0", "batch_end 0 True", "batch_end 1 True",
                     "epoch_end 0 ['loss', 'val_loss']", "epoch_begin 1", "batch_end 0 True",
                     "batch_end 1 True", "epoch_end 1 ['loss', 'val_loss']", "train_end"]


def test_model_checkpoint_save_best_only(tmp_path, blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    script = ScriptedValLoss([3.0, 1.0, 2.0, 0.5])
    path = tmp_path / "best-{epoch:02d}.chainrule"
    checkpoint = cr.callbacks.ModelCheckpoint(str(path), save_best_only=True)
    model.fit(x, y, epochs=4, callbacks=[script, checkpoint], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-01.chainrule", "best-02.chainrule",
                                                           "best-04.chainrule"]
    restored = cr.load_model(tmp_path / "best-02.chainrule")
    _assert_weights(restored, script.weights[1])


def test_csv_logger_writes_one_row_per_epoch(tmp_path, blobs, mlp_factory):
    x, y = blobs
    path = tmp_path / "log.csv"
    model = _model(mlp_factory)
    history = model.fit(x, y, epochs=3, validation_split=0.2, callbacks=[cr.callbacks.CSVLogger(path)],
                        verbose=0)
    rows = list(csv.DictReader(open(path)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history.history["val_loss"])


def test_learning_rate_scheduler_and_reduce_on_plateau(blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    schedule = cr.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (1 + epoch))
    history = model.fit(x, y, epochs=3, callbacks=[schedule], verbose=0)
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])

    model = _model(mlp_factory)
    script = ScriptedValLoss([1.0, 1.0, 1.0, 1.0, 1.0])
    plateau = cr.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03)
    model.fit(x, y, epochs=5, callbacks=[script, plateau], verbose=0)
    # epochs 1-2 stall -> 0.05 after epoch 2; epochs 3-4 stall -> max(0.025, 0.03)
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)


def test_terminate_on_nan(blobs, mlp_factory):
    x, y = blobs
    x = x.copy()
    x[:] = np.nan
    model = _model(mlp_factory)
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match="epoch 1/3, batch 1/12"):
        history = model.fit(x, y, batch_size=10, epochs=3, callbacks=[cr.callbacks.TerminateOnNaN()],
                            verbose=0, check_finite=False, stop_on_nan=False)
    assert len(history.history["loss"]) == 1
    for got, want in zip(model.get_weights(), before):  # stopped before the NaN step: unchanged
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_weights_only_every_epoch(tmp_path, blobs, mlp_factory):
    x, y = blobs
    model = _model(mlp_factory)
    path = tmp_path / "weights.safetensors"
    script = ScriptedValLoss([3.0, 1.0, 2.0])
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[script, cr.callbacks.ModelCheckpoint(path, save_weights_only=True)])
    other = _model(mlp_factory)
    other.load_weights(path)
    _assert_weights(other, script.weights[2])


def test_schedule_on_a_lazy_model_whose_optimizer_binds_later(blobs):
    x, y = blobs
    model = cr.Sequential([cr.nn.Dense(8, activation="relu"), cr.nn.Dense(3)])
    model.compile(loss="cross_entropy", optimizer=cr.optim.SGD(lr=1.0))
    schedule = cr.callbacks.LearningRateScheduler(lambda epoch: 0.05 * (epoch + 1))
    history = model.fit(x, y, epochs=2, callbacks=[schedule], verbose=0)
    assert history.history["lr"] == pytest.approx([0.05, 0.1])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_per_batch_schedule_uses_the_global_step(blobs, mlp_factory):
    x, y = blobs  # 120 samples, batch 40: 3 steps per epoch
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.01

    model = _model(mlp_factory)
    model.fit(x, y, batch_size=40, epochs=2, verbose=0,
              callbacks=[cr.callbacks.LearningRateScheduler(schedule, per_batch=True)])
    assert seen == [0, 1, 2, 3, 4, 5]
