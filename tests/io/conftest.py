"""Helpers for building valid chainrule files and rewriting them into broken ones."""

import json
import pickle
import struct
import types

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import safetensors_file

pytest.importorskip("safetensors")


def tiny_model(dtype=None):
    cr.manual_seed(0)
    model = cr.Sequential([cr.nn.Dense(4, activation="relu", input_shape=(3,)),
                           cr.nn.Dense(2, input_shape=(4,))])
    if dtype is not None:
        model.to(dtype=dtype)
    model.compile(loss="mse", optimizer=cr.optim.Adam(lr=0.01))
    x = np.linspace(-1, 1, 24).reshape(8, 3).astype(dtype or "float32")
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    return model


def rewrite(source, target, metadata=None, tensors=None):
    """Copy a safetensors file, changing metadata entries (``{key: text or None}``) and tensors."""
    arrays, meta = safetensors_file.read(source)
    for key, value in (metadata or {}).items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    for key, value in (tensors or {}).items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    safetensors_file.write(target, arrays, meta)
    return target


def edit_json(source, target, key, change):
    """Rewrite metadata ``key`` as ``change(parsed JSON)`` (which may edit in place and return None)."""
    _, meta = safetensors_file.read(source)
    value = json.loads(meta[key])
    changed = change(value)
    return rewrite(source, target, {key: json.dumps(value if changed is None else changed)})


def raw_file(path, header, data=b""):
    """A file with exactly this header (any JSON value) and these data bytes."""
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def snapshot(model):
    """Everything a failed load or resume must leave alone: weights, optimiser state, random stream."""
    return ({k: v.copy() for k, v in model.state_dict().items()}, _optimizer_bytes(model),
            pickle.dumps(cr.random.get_state()))


def _optimizer_bytes(model):
    # pickle only to compare in memory, exactly (arrays included); files never hold pickles
    return pickle.dumps(model.optimizer.state_dict() if model.optimizer is not None else None)


def assert_unchanged(model, before):
    weights, state, stream = before
    after = model.state_dict()
    assert set(after) == set(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)
        assert after[key].dtype == value.dtype
    assert _optimizer_bytes(model) == state
    assert pickle.dumps(cr.random.get_state()) == stream


@pytest.fixture
def files():
    """The helpers above (test modules cannot import a conftest under --import-mode=importlib)."""
    return types.SimpleNamespace(tiny_model=tiny_model, rewrite=rewrite, edit_json=edit_json,
                                 raw_file=raw_file, snapshot=snapshot, assert_unchanged=assert_unchanged)
