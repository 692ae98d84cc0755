"""Malformed and hostile model files: a FormatError naming the problem, fast, and nothing changed."""

import json
import os
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import bounded_json, safetensors_file
from fresh_process import run_python


@pytest.fixture
def saved(tmp_path, files):
    model = files.tiny_model()
    path = tmp_path / "model.chainrule"
    model.save(path)
    return model, path


def _grow_first_layer(architecture, units=20000, inputs=20000):
    layer = architecture["layers"][0]["config"]
    layer["units"], layer["input_dim"] = units, inputs


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="measures peak memory in /proc (Linux)")
def test_a_small_file_declaring_a_huge_layer_fails_fast_without_allocating(tmp_path, saved, files):
    _, path = saved
    hostile = files.edit_json(path, tmp_path / "huge.chainrule", "architecture", _grow_first_layer)
    assert hostile.stat().st_size < 10_000
    # a fresh process, so that its peak memory is this load's alone
    script = textwrap.dedent(f"""
        import time, chainrule as cr
        start = time.perf_counter()
        try:
            cr.load_model({str(hostile)!r})
        except cr.FormatError as error:
            print("FormatError", error)
        print("seconds", time.perf_counter() - start)
        # VmHWM: this process's peak resident memory (ru_maxrss would include the parent's, kept across exec)
        peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
        print("peak_mib", int(peak.split()[1]) / 1024)
    """)
    out = run_python(script)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert "expected shape (20000, 20000), got (4, 3)" in lines["FormatError"]
    assert float(lines["seconds"]) < 2.0
    assert float(lines["peak_mib"]) < 400  # the 1.6 GB weight is never written, let alone initialised


def _grow_batch_norm(architecture, features=200_000_000):
    for layer in architecture["layers"]:
        if "num_features" in layer["config"]:
            layer["config"]["num_features"] = features


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="measures peak memory in /proc (Linux)")
def test_a_huge_normalisation_layer_is_refused_before_its_statistics_are_written(tmp_path, files):
    # BatchNorm's weight and running variance start as ones: written memory, unlike a Dense weight's
    model = cr.Sequential([cr.nn.Dense(4, input_shape=(3,)), cr.nn.BatchNorm1d(4)])
    model(cr.tensor(np.zeros((2, 3), dtype=np.float32)))
    path = tmp_path / "bn.chainrule"
    model.save(path)
    hostile = files.edit_json(path, tmp_path / "huge_bn.chainrule", "architecture", _grow_batch_norm)
    script = textwrap.dedent(f"""
        import chainrule as cr
        try:
            cr.load_model({str(hostile)!r})
        except cr.FormatError as error:
            print("FormatError", error)
        peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
        print("peak_mib", int(peak.split()[1]) / 1024)
    """)
    out = run_python(script)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert "200000000" in lines["FormatError"]
    assert float(lines["peak_mib"]) < 400  # four arrays of 800 MB would be 3.2 GB written


def test_a_header_promising_more_bytes_than_the_file_has_fails_before_reading(tmp_path, files):
    header = {"0.weight": {"dtype": "F32", "shape": [60000, 60000], "data_offsets": [0, 60000 * 60000 * 4]}}
    path = files.raw_file(tmp_path / "liar.safetensors", header, b"\0" * 64)
    with pytest.raises(cr.FormatError, match="expected 14400000000 bytes of tensor data, got 64.*truncated"):
        safetensors_file.read_header(path)


@pytest.mark.parametrize("offsets", ["0,16", None, [[0], [16]], [0], [16, 0], [0, 12], [True, 16]])
def test_malformed_data_offsets_are_format_errors(tmp_path, offsets, files):
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": offsets}}
    with pytest.raises(cr.FormatError, match="tensor 'w'|nested at most 3 levels"):
        safetensors_file.read_header(files.raw_file(tmp_path / "bad.safetensors", header, b"\0" * 16))


def test_the_header_is_bounded_before_it_is_read(tmp_path, files):
    huge = tmp_path / "huge_header.safetensors"
    huge.write_bytes((safetensors_file.HEADER_LIMIT + 1).to_bytes(8, "little") + b"{}")
    with pytest.raises(cr.FormatError, match="declared length"):
        safetensors_file.read_header(huge)
    many = {f"t{i}": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}
            for i in range(safetensors_file.MAX_TENSORS + 1)}
    with pytest.raises(cr.FormatError, match="at most 100000 tensors"):
        safetensors_file.read_header(files.raw_file(tmp_path / "many.safetensors", many))


def test_deeply_nested_json_is_a_format_error(tmp_path, saved, files):
    _, path = saved
    deep = files.rewrite(path, tmp_path / "deep.chainrule", {"architecture": "[" * 100_000 + "]" * 100_000})
    with pytest.raises(cr.FormatError, match="nested at most 64 levels deep, got 100000"):
        cr.load_model(deep)
    assert bounded_json.depth('{"a": "[[[[", "b": [{"c": "\\"]]"}]}') == 3  # brackets in strings do not count


@pytest.mark.parametrize("key, value, message", [
    ("compile", "[1, 2]", "compile settings as a JSON object, got list"),
    ("compile", json.dumps({"loss": "mse", "optimizer": {"class_name": 5}}), "'optimizer' as"),
    ("compile", json.dumps({"loss": "mse", "metrics": "accuracy"}), "'metrics' to be a list"),
    ("format_version", "9" * 5000, "expected an integer format_version"),
    ("format_version", "²", "expected an integer format_version"),
    ("input_spec", json.dumps({"dtype": "float32"}), "expected an input_spec"),
    ("input_spec", json.dumps({"shape": [None, 3], "dtype": "__import__"}), "input_spec dtype"),
    ("input_spec", json.dumps({"shape": [None, 10**9, 10**9]}), "at most 16777216 values"),
    ("architecture", json.dumps({"class_name": "Sequential", "layers": 7}), "config that Sequential accepts"),
])
def test_malformed_metadata_is_a_format_error(tmp_path, saved, key, value, message, files):
    _, path = saved
    with pytest.raises(cr.FormatError, match=message):
        cr.load_model(files.rewrite(path, tmp_path / "bad.chainrule", {key: value}))


@pytest.mark.parametrize("break_state, message", [
    (lambda s: s.update(state={"__dict__": [[0, {"exp_avg": 1}]]}), "no 'step'"),
    (lambda s: s["state"]["__dict__"][0][1].pop("step") and None, "no 'step' in the state of parameter 0"),
    (lambda s: s["state"]["__dict__"][0][1].update(step=-4), "'step' of parameter 0 = -4"),
    (lambda s: s["param_groups"][0].update(lr="fast"), "hyperparameter 'lr' = 'fast'"),
    (lambda s: s.update(param_groups="all"), "it needs 'state' and 'param_groups'"),
    (lambda s: s["state"].update({"__dict__": [[99, {}]]}), "a state entry 99"),
])
def test_malformed_optimizer_state_is_a_format_error(tmp_path, saved, break_state, message, files):
    _, path = saved
    bad = files.edit_json(path, tmp_path / "bad.chainrule", "optimizer_state", break_state)
    with pytest.raises(cr.FormatError, match=message):
        cr.load_model(bad)


def test_load_weights_checks_names_and_shapes_before_changing_anything(tmp_path, saved, files):
    model, path = saved
    before = files.snapshot(model)
    wrong = files.rewrite(path, tmp_path / "wrong.chainrule",
                          tensors={"1.weight": np.zeros((3, 4), "float32")})
    with pytest.raises(cr.FormatError, match=r"1.weight: expected shape \(2, 4\), got \(3, 4\)"):
        model.load_weights(wrong)
    files.assert_unchanged(model, before)


def test_a_float64_model_comes_back_float64(tmp_path, files):
    model = files.tiny_model("float64")
    model.save(tmp_path / "f64.chainrule")
    same = cr.load_model(tmp_path / "f64.chainrule")
    assert {v.dtype for v in same.state_dict().values()} == {np.dtype("float64")}
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(same.predict(x), model.predict(x))


def test_loading_draws_nothing_from_the_random_stream(saved):
    _, path = saved
    cr.manual_seed(3)
    state = cr.random.get_state()
    cr.load_model(path)
    assert cr.random.get_state() == state


def test_saving_an_unchanged_model_gives_the_same_bytes(tmp_path, saved):
    model, _ = saved
    model.save(tmp_path / "a.chainrule")
    model.save(tmp_path / "b.chainrule")
    assert (tmp_path / "a.chainrule").read_bytes() == (tmp_path / "b.chainrule").read_bytes()
    header = safetensors_file.read_header(tmp_path / "a.chainrule")
    assert list(header.metadata) == sorted(header.metadata)


def _my_loss(prediction, target):
    return ((prediction - target) ** 2).mean()


def test_a_loss_function_keeps_the_optimizer_and_save_says_what_load_needs(tmp_path, files):
    model = files.tiny_model()
    model.compile(loss=_my_loss, optimizer=cr.optim.Adam(lr=0.01))
    x = np.linspace(-1, 1, 24).reshape(8, 3).astype("float32")
    model.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "fn.chainrule"
    with pytest.warns(UserWarning, match=r"custom_objects=\{'_my_loss': _my_loss\}"):
        model.save(path)
    same = cr.load_model(path, custom_objects={"_my_loss": _my_loss})
    assert same.loss is _my_loss and type(same.optimizer) is cr.optim.Adam
    assert same.optimizer.state_dict()["state"][0]["step"] == model.optimizer.state_dict()["state"][0]["step"]
    assert same.evaluate(x, x[:, :2]) == pytest.approx(model.evaluate(x, x[:, :2]))
    with pytest.warns(UserWarning, match="not in custom_objects"):
        without = cr.load_model(path)
    assert type(without.optimizer) is cr.optim.Adam
    with pytest.raises(cr.ChainruleError, match="loss function '_my_loss', which was not given"):
        without.evaluate(x, x[:, :2])


def test_hostile_loads_stay_fast(tmp_path, saved, files):
    _, path = saved
    start = time.perf_counter()
    for i in range(20):
        hostile = files.edit_json(path, tmp_path / f"h{i}.chainrule", "architecture",
                            lambda a, i=i: _grow_first_layer(a, 60000 + i, 60000))
        with pytest.raises(cr.FormatError):
            cr.load_model(hostile)
    assert time.perf_counter() - start < 10


def test_a_large_file_is_judged_by_its_header_without_reading_the_data(tmp_path, saved, files):
    import tracemalloc

    model, _ = saved
    before = files.snapshot(model)
    size = 1 << 30
    big = files.raw_file(tmp_path / "big.safetensors", {"big": {"dtype": "U8", "shape": [size],
                                                                "data_offsets": [0, size]}})
    with open(big, "r+b") as file:
        file.truncate(big.stat().st_size + size)  # a valid 1 GiB file (sparse: costs no disk)
    tracemalloc.start()
    try:
        header = safetensors_file.read_header(big)
        with pytest.raises(cr.FormatError, match="unexpected big"):
            model.load_weights(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert header.tensors["big"][1] == (size,)
    assert peak < 8 << 20
    files.assert_unchanged(model, before)
