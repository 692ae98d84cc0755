"""A bad checkpoint is refused whole: FormatError naming the problem; model, optimiser, streams as before."""

import json
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import safetensors_file

pytest.importorskip("safetensors")


def _compiled(mlp_factory):
    model = mlp_factory(dropout=0.2)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.01))
    return model


@pytest.fixture
def checkpoint(tmp_path, blobs, mlp_factory):
    path = tmp_path / "run.chainrule"
    saver = cr.callbacks.ModelCheckpoint(path, monitor="loss")
    _compiled(mlp_factory).fit(*blobs, epochs=2, batch_size=32, verbose=0, callbacks=[saver])
    return path


def _edit(source, target, key, change):
    arrays, meta = safetensors_file.read(source)
    if key is None:
        change(arrays)
    else:
        value = json.loads(meta[key])
        change(value)
        meta[key] = json.dumps(value)
    safetensors_file.write(target, arrays, meta)
    return target


def _first_state(s):
    return s["state"]["__dict__"][0][1]


BREAKS = {
    "no step": ("optimizer_state", lambda s: _first_state(s).pop("step"), "no 'step' in the state"),
    "step text": ("optimizer_state", lambda s: _first_state(s).update(step="3"), "'step' of parameter 0"),
    "moment shape": ("optimizer_state", lambda s: _first_state(s).update(exp_avg=5.0), "expected an array"),
    "random state": ("training", lambda t: t["random_state"]["state"].update(state="x"), "random stream"),
    "random kind": ("training", lambda t: t["random_state"].update(bit_generator="MT19937"), "PCG64"),
    "epoch": ("training", lambda t: t.update(epoch="1"), "'epoch' as a count"),
    "history": ("training", lambda t: t.update(history=[1, 2]), "'history' as"),
    "early stopping": ("training", lambda t: t["callbacks"].update({"EarlyStopping#0": {"wait": 1}}),
                       "callback 'EarlyStopping#0' holding wait, best, best_epoch"),
    "plateau": ("training", lambda t: t["callbacks"].update({"ReduceLROnPlateau#0": {
        "wait": "no", "best": 1.0, "cooldown_counter": 0}}), "'wait' of callback 'ReduceLROnPlateau#0'"),
    "weights": (None, lambda a: a.update({"0.weight": np.zeros((3, 3), "float32")}), "0.weight: expected"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_a_bad_checkpoint_changes_nothing(tmp_path, checkpoint, blobs, mlp_factory, name):
    key, change, message = BREAKS[name]
    bad = _edit(checkpoint, tmp_path / "bad.chainrule", key, change)
    model = _compiled(mlp_factory)
    model.fit(*blobs, epochs=1, batch_size=32, verbose=0)  # the optimiser has a state to keep
    cr.manual_seed(99)
    weights = {k: v.copy() for k, v in model.state_dict().items()}
    optimizer, stream = pickle.dumps(model.optimizer.state_dict()), pickle.dumps(cr.random.get_state())
    with pytest.raises(cr.FormatError, match=message):
        model.fit(*blobs, epochs=4, batch_size=32, verbose=0, resume_from=bad)
    for key_, value in weights.items():
        np.testing.assert_array_equal(model.state_dict()[key_], value)
    assert pickle.dumps(model.optimizer.state_dict()) == optimizer  # pickle: an exact in-memory comparison
    assert pickle.dumps(cr.random.get_state()) == stream


def test_a_good_checkpoint_still_resumes(checkpoint, blobs, mlp_factory):
    model = _compiled(mlp_factory)
    history = model.fit(*blobs, epochs=3, batch_size=32, verbose=0, resume_from=checkpoint)
    assert history.epoch == [0, 1, 2]
    assert model.optimizer.state_dict()["state"][0]["step"] == 3 * 4  # 120 samples in batches of 32
