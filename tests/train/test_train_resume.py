"""Checkpoint and resume continue a run exactly; manual_seed makes runs repeat across processes."""

import hashlib
import textwrap

import numpy as np
import pytest

import chainrule as cr
from fresh_process import run_python

pytest.importorskip("safetensors")


class StopAfter(cr.callbacks.Callback):
    """Simulates an interruption: training ends after the given epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


class ScriptedValLoss(cr.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = [2.0, 1.0, 3.0, 4.0, 5.0][epoch]


class LastWeights(cr.callbacks.Callback):
    """The weights at the end of the last epoch, before EarlyStopping restores the best ones."""

    def on_train_end(self, logs=None):
        self.weights = self.model.state_dict()


def _run(mlp_factory, data, epochs, callbacks=(), resume_from=None, seed=0):
    x, y = data
    cr.manual_seed(seed)
    model = mlp_factory(dropout=0.3)  # dropout and shuffling both draw from the random streams
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.01),
                  metrics=["accuracy"])
    schedule = cr.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.7 ** epoch)
    plateau = cr.callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5)
    # val_loss is scripted so that the best epoch (1) lies before the interruption (after epoch 1)
    stopper = cr.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    last = LastWeights()
    history = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.2, verbose=0,
                        callbacks=[schedule, ScriptedValLoss(), last, stopper, *callbacks, plateau],
                        resume_from=resume_from)
    return model, history, last.weights


def test_interrupted_and_resumed_fit_ends_with_the_same_weights(tmp_path, blobs, mlp_factory):
    straight, straight_history, straight_last = _run(mlp_factory, blobs, epochs=5)

    path = tmp_path / "checkpoint.chainrule"
    _run(mlp_factory, blobs, epochs=5, callbacks=[cr.callbacks.ModelCheckpoint(path), StopAfter(1)])
    # a new process would build a fresh model with other random weights: so does this one
    resumed, resumed_history, resumed_last = _run(mlp_factory, blobs, epochs=5, resume_from=path, seed=42)

    for key, value in straight_last.items():  # training continued exactly
        np.testing.assert_array_equal(resumed_last[key], value, err_msg=key)
    for key, value in straight.state_dict().items():  # and EarlyStopping's best epoch (1) came along
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
    assert resumed_history.epoch == [0, 1, 2, 3, 4]
    for key, values in straight_history.history.items():
        assert resumed_history.history[key] == pytest.approx(values), key


def test_resume_from_a_file_without_training_state(tmp_path, blobs, mlp_factory):
    model, _, _ = _run(mlp_factory, blobs, epochs=1)
    path = tmp_path / "plain.chainrule"
    model.save(path)
    with pytest.raises(cr.ChainruleError, match="no training state"):
        _run(mlp_factory, blobs, epochs=2, resume_from=path)


_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    import chainrule as cr
    cr.manual_seed(int(sys.argv[1]))
    x = cr.random.generator().normal(size=(64, 5)).astype("float32")
    y = (x.sum(1) > 0).astype("int64")
    model = cr.Sequential([cr.nn.Dense(16, activation="relu"), cr.nn.Dropout(0.3),
                           cr.nn.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0)
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode()); digest.update(np.ascontiguousarray(value).tobytes())
    print(digest.hexdigest())
""")


def test_manual_seed_gives_identical_weights_in_two_processes():
    def run(seed):
        return run_python(_SCRIPT, str(seed)).strip()

    first, second, other = run(3), run(3), run(4)
    assert len(first) == len(hashlib.sha256().hexdigest())
    assert first == second
    assert first != other
