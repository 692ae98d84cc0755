"""Fuzz: 500 seeded random mutations of valid model, weights and checkpoint files.

Every load either succeeds or raises one of the library's typed errors (a ChainruleError), and a
load or resume that fails leaves the model, its optimiser and the random stream exactly as they were.
"""

import json
import struct
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import safetensors_file
from chainrule.train import checkpoint

MUTATIONS = 500
ODD_VALUES = [None, True, -1, 0, 2**70, 1e308, float("nan"), "x", "__import__", "9" * 5000, [], {}, [[[[]]]],
              {"__array__": "missing"}, {"__dict__": 3}, {"__tuple__": None}, [None, "a"], {"shape": 1}]


def _model():
    model = cr.Sequential([cr.nn.Dense(3, activation="tanh", input_shape=(2,)), cr.nn.Dropout(0.1),
                           cr.nn.Dense(2, input_shape=(3,))])
    model.compile(loss="mse", optimizer=cr.optim.Adam(lr=0.01), metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    cr.manual_seed(0)
    model = _model()
    x = np.linspace(-1, 1, 16, dtype="float32").reshape(8, 2)
    saver = cr.callbacks.ModelCheckpoint(folder / "run.chainrule", monitor="loss")
    model.fit(x, x, epochs=1, batch_size=4, verbose=0, callbacks=[saver])
    model.save(folder / "model.chainrule")
    model.save_weights(folder / "weights.safetensors")
    names = {"model": "model.chainrule", "weights": "weights.safetensors", "checkpoint": "run.chainrule"}
    return {kind: (folder / name).read_bytes() for kind, name in names.items()}


def _split(data):
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def _join(header, body):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _random_node(rng, value):
    """A random (container, key) inside ``value`` (a parsed JSON tree), or None at the top."""
    spots = []

    def walk(node):
        if isinstance(node, dict):
            for key, child in node.items():
                spots.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for i, child in enumerate(node):
                spots.append((node, i))
                walk(child)

    walk(value)
    return spots[rng.integers(len(spots))] if spots else None


def _mutate(rng, data):
    """One random mutation of a safetensors file's bytes."""
    choice = rng.integers(5)
    if choice == 0:  # change a few bytes (in the header most often: a change in the data is a valid file)
        header_end = 8 + struct.unpack("<Q", data[:8])[0]
        data = bytearray(data)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(len(data) if rng.random() < 0.2 else header_end)] = rng.integers(256)
        return bytes(data)
    if choice == 1:  # truncate
        return data[:rng.integers(len(data))]
    header, body = _split(data)
    if choice == 2:  # change one tensor entry's dtype, shape or offsets
        name = rng.choice([k for k in header if k != "__metadata__"])
        field = rng.choice(["dtype", "shape", "data_offsets"])
        header[name][field] = ODD_VALUES[rng.integers(len(ODD_VALUES))] if rng.random() < 0.5 else \
            {"dtype": "F64", "shape": [3, 3], "data_offsets": [0, 8]}[field]
        return _join(header, body)
    metadata = header.setdefault("__metadata__", {})
    key = rng.choice(sorted(metadata))
    if choice == 3:  # replace a metadata entry with odd text
        metadata[key] = rng.choice(["", "[" * 200, "{}", "null", "[1, 2]", "9" * 5000, "\"text\""])
        return _join(header, body)
    try:  # change one node inside a metadata entry's JSON
        tree = json.loads(metadata[key])
    except ValueError:
        return _join(header, body)
    spot = _random_node(rng, tree)
    if spot is None:
        tree = ODD_VALUES[rng.integers(len(ODD_VALUES))]
    else:
        container, index = spot
        container[index] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
    metadata[key] = json.dumps(tree)
    return _join(header, body)


def _snapshot(model):
    return ({k: v.copy() for k, v in model.state_dict().items()}, model.optimizer.state_dict(),
            cr.random.get_state())


def _same(model, before):
    weights, optimizer, stream = before
    state = model.state_dict()
    return set(state) == set(weights) and all(
        np.array_equal(state[k], v) and state[k].dtype == v.dtype for k, v in weights.items()) and \
        _equal(model.optimizer.state_dict(), optimizer) and cr.random.get_state() == stream


def _equal(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def _restore(model, before):
    weights, optimizer, stream = before
    model.load_state_dict(weights)
    model.optimizer.load_state_dict(optimizer)
    cr.random.set_state(stream)


def test_random_mutations_give_typed_errors_and_change_nothing(tmp_path, originals):
    rng = np.random.default_rng(2026)
    cr.manual_seed(5)
    target = _model()
    target.fit(np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    before = _snapshot(target)
    path = tmp_path / "mutant.chainrule"
    outcomes = {"loaded": 0, "refused": 0}
    kinds = sorted(originals)
    for i in range(MUTATIONS):
        kind = kinds[i % len(kinds)]
        path.write_bytes(_mutate(rng, originals[kind]))
        actions = [lambda: target.load_weights(path)]
        if kind == "model":
            actions.append(lambda: cr.load_model(path))
        if kind == "checkpoint":
            actions.append(lambda: checkpoint.restore(target, *checkpoint.read(path)))
        for action in actions:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    action()
            except cr.ChainruleError:
                outcomes["refused"] += 1
                assert _same(target, before), f"mutation {i} of the {kind} file changed the model"
            else:
                outcomes["loaded"] += 1
                _restore(target, before)
    assert outcomes["refused"] > MUTATIONS // 2 and outcomes["loaded"] > 0, outcomes


def test_the_originals_load(tmp_path, originals):
    for kind, data in originals.items():
        (tmp_path / kind).write_bytes(data)
        assert safetensors_file.read_header(tmp_path / kind).tensors
    assert cr.load_model(tmp_path / "model").optimizer is not None
