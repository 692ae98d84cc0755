"""Model files: save -> load gives identical predictions; bad files raise FormatError; no pickle."""

import json
import os
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import model_file, safetensors_file

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64")


def _trained_model():
    cr.manual_seed(0)
    model = cr.Sequential([
        cr.nn.Dense(16, activation="relu", input_shape=(6,)),
        cr.nn.Dropout(0.2),
        cr.nn.Dense(8, activation="tanh"),
        cr.nn.Dense(2, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.01),
                  metrics=["accuracy"])
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.fixture
def saved(tmp_path):
    model = _trained_model()
    path = tmp_path / "model.chainrule"
    model.save(path)
    return model, path


def test_save_load_gives_identical_predictions_and_a_compiled_model(saved):
    model, path = saved
    x, y = _data(seed=1)
    same = cr.load_model(path)
    assert type(same) is cr.Sequential and [type(m).__name__ for m in same.layers] == \
        ["Dense", "Dropout", "Dense", "Dense"]
    np.testing.assert_array_equal(same.predict(x), model.predict(x))
    assert same.evaluate(x, y) == pytest.approx(model.evaluate(x, y))
    # the optimiser state came along: one more identical step keeps them identical
    cr.manual_seed(7)  # the same dropout masks for both
    model.train_on_batch(x, y)
    cr.manual_seed(7)
    same.train_on_batch(x, y)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(same.state_dict()[key], value, rtol=1e-6, err_msg=key)


def test_the_file_is_plain_safetensors_with_pytorch_style_names_and_json_metadata(saved):
    _, path = saved
    weights = safetensors_numpy.load_file(str(path))
    assert {"0.weight", "0.bias", "2.weight", "3.bias"} <= set(weights)
    assert weights["0.weight"].shape == (16, 6)
    _, metadata = safetensors_file.read(path)
    assert metadata["format"] == "chainrule.model"
    architecture = json.loads(metadata["architecture"])
    assert architecture["class_name"] == "Sequential"
    assert [layer["class_name"] for layer in architecture["layers"]] == ["nn.Dense", "nn.Dropout", "nn.Dense",
                                                                         "nn.Dense"]
    assert b"pickle" not in open(path, "rb").read()


def test_wrapped_module_and_nested_containers_round_trip(tmp_path):
    inner = cr.nn.Sequential(cr.nn.Linear(3, 5), cr.nn.Tanh())
    model = cr.Model(cr.nn.Sequential(inner, cr.nn.Linear(5, 2)))
    path = tmp_path / "wrapped.chainrule"
    model.save(path)
    same = cr.load_model(path)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(same.predict(x), model.predict(x))
    assert list(same.state_dict()) == list(model.state_dict())


def test_save_weights_and_load_weights(tmp_path, saved):
    model, _ = saved
    path = tmp_path / "weights.safetensors"
    model.save_weights(path)
    cr.manual_seed(99)
    other = cr.Sequential([cr.nn.Dense(16, activation="relu"), cr.nn.Dropout(0.2),
                           cr.nn.Dense(8, activation="tanh"), cr.nn.Dense(2, activation="softmax")])
    other.load_weights(path)  # lazy layers are built from the input shape stored in the file
    x, _ = _data(seed=2)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_weights_of_another_model_leave_the_model_unchanged(tmp_path, saved):
    model, _ = saved
    path = tmp_path / "small.safetensors"
    cr.Sequential([cr.nn.Dense(3, input_shape=(6,))]).save_weights(path)
    before = model.state_dict()
    with pytest.raises(cr.FormatError, match="small.safetensors.*expected weights matching"):
        model.load_weights(path)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_truncated_file(tmp_path, saved):
    _, path = saved
    data = open(path, "rb").read()
    for cut in (0, 5, 40, len(data) - 10):
        broken = tmp_path / f"cut{cut}.chainrule"
        broken.write_bytes(data[:cut])
        with pytest.raises(cr.FormatError, match=f"cut{cut}.chainrule: expected .*truncated"):
            cr.load_model(broken)


def test_corrupted_header(tmp_path, saved):
    _, path = saved
    data = bytearray(open(path, "rb").read())
    data[10:20] = b"\xff" * 10
    broken = tmp_path / "corrupt.chainrule"
    broken.write_bytes(bytes(data))
    with pytest.raises(cr.FormatError, match="corrupt.chainrule: expected a JSON object.*corrupted"):
        cr.load_model(broken)


def _rewrite_metadata(source, target, **changes):
    tensors, metadata = safetensors_file.read(source)
    metadata.update(changes)
    safetensors_file.write(target, tensors, metadata)


def test_newer_format_version(tmp_path, saved):
    _, path = saved
    newer = tmp_path / "newer.chainrule"
    _rewrite_metadata(path, newer, format_version="7")
    with pytest.raises(cr.FormatError,
                       match="newer.chainrule: expected format version 1 or older, got version 7.*upgrade"):
        cr.load_model(newer)


def test_unknown_layer_name_runs_no_code(tmp_path, saved):
    _, path = saved
    _, metadata = safetensors_file.read(path)
    architecture = json.loads(metadata["architecture"])
    architecture["layers"][0]["class_name"] = "os.system"
    evil = tmp_path / "evil.chainrule"
    _rewrite_metadata(path, evil, architecture=json.dumps(architecture))
    with pytest.raises(cr.FormatError,
                       match="evil.chainrule: expected a registered layer class, got 'os.system'"
                             ".*custom_objects"):
        cr.load_model(evil)


def test_weights_only_file_is_not_a_model(tmp_path, saved):
    model, _ = saved
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    with pytest.raises(cr.FormatError, match="weights-only.*load_weights"):
        cr.load_model(path)


def test_plain_safetensors_weights_load(tmp_path, saved):
    model, _ = saved
    path = tmp_path / "plain.safetensors"
    weights = {k: np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    safetensors_numpy.save_file(weights, str(path))
    clone = cr.Sequential([cr.nn.Dense(16, activation="relu", input_shape=(6,)), cr.nn.Dropout(0.2),
                           cr.nn.Dense(8, activation="tanh", input_dim=16),
                           cr.nn.Dense(2, activation="softmax", input_dim=8)])
    clone.load_weights(path)
    x, _ = _data()
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))


def test_writes_are_atomic(tmp_path, saved, monkeypatch):
    model, path = saved
    before = open(path, "rb").read()

    def failing_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    assert open(path, "rb").read() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.chainrule"]  # no temporary left


def test_unsavable_model_says_what_to_do(tmp_path):
    class Custom(cr.Model):
        def __init__(self):
            super().__init__()
            self.fc = cr.nn.Linear(2, 1)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(cr.ChainruleError, match="save_weights"):
        Custom().save(tmp_path / "custom.chainrule")


def test_safetensors_frame_checks_offsets(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    path = tmp_path / "short.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    with pytest.raises(cr.FormatError, match="expected 16 bytes of tensor data, got 8"):
        model_file.read(path)


def test_torch_reads_our_weights(tmp_path, saved):
    torch = pytest.importorskip("torch")
    model, _ = saved
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    weights = safetensors_numpy.load_file(str(path))
    linear = torch.nn.Linear(6, 16)
    linear.load_state_dict({"weight": torch.from_numpy(weights["0.weight"]),
                            "bias": torch.from_numpy(weights["0.bias"])})
    x, _ = _data()
    expected = np.maximum(linear(torch.from_numpy(x)).detach().numpy(), 0)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    hidden = np.maximum(x @ state["0.weight"].T + state["0.bias"], 0)
    np.testing.assert_allclose(hidden, expected, rtol=1e-5, atol=1e-6)


def test_saved_files_get_the_usual_permissions(tmp_path, saved):
    model, path = saved
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask
    os.chmod(path, 0o640)
    model.save(path)
    assert os.stat(path).st_mode & 0o777 == 0o640  # an existing file keeps its permissions


def test_model_name_and_layers_survive(tmp_path):
    model = cr.Model(cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU()), name="tiny")
    assert [type(layer).__name__ for layer in model.layers] == ["Linear", "ReLU"]
    model.save(tmp_path / "tiny.chainrule")
    assert cr.load_model(tmp_path / "tiny.chainrule").name == "tiny"


def test_unknown_compile_settings_are_a_format_error_and_compile_false_skips_them(tmp_path, saved):
    _, path = saved
    odd = tmp_path / "odd.chainrule"
    _rewrite_metadata(path, odd, compile=json.dumps({"loss": "no_such_loss", "metrics": []}))
    with pytest.raises(cr.FormatError, match="odd.chainrule: expected compile settings.*compile=False"):
        cr.load_model(odd)
    model = cr.load_model(odd, compile=False)
    assert model.optimizer is None
    x, _ = _data()
    assert model.predict(x).shape == (64, 2)


def test_loading_a_directory_names_it(tmp_path):
    with pytest.raises(cr.errors.FormatError, match="expected a file, got a directory"):
        cr.load_model(tmp_path)
