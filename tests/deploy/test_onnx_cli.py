"""``chainrule export FILE OUT.onnx``: a saved model, exported, runs the same in onnxruntime."""

import numpy
import pytest

import chainrule as cr
from chainrule import cli, zoo

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", ["lenet5", "char_rnn"])
def test_export_a_saved_model(name, tmp_path, capsys):
    cr.manual_seed(0)
    model = zoo.get(name).build()
    rng = numpy.random.default_rng(0)
    if name == "char_rnn":
        x = rng.integers(0, len(model.module.vocabulary), (4, model.input_spec["shape"][1]))
    else:
        x = rng.random((4, 1, 28, 28), dtype=numpy.float32)
        model.predict(x)  # builds the lazy layers and records the input shape, as training would
    model.save(tmp_path / "m.chainrule", custom_objects=zoo.custom_objects())
    assert cli.main(["export", str(tmp_path / "m.chainrule"), str(tmp_path / "m.onnx")]) == 0
    assert "m.onnx" in capsys.readouterr().out
    loaded = cr.load_model(tmp_path / "m.chainrule", custom_objects=zoo.custom_objects())
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    numpy.testing.assert_allclose(got, loaded.predict(x), atol=1e-5)


def test_export_without_an_input_shape_says_what_to_do(tmp_path, capsys):
    model = cr.Sequential([cr.nn.Conv2d(1, 2, 3), cr.nn.Flatten()])
    model.save(tmp_path / "m.chainrule")
    assert cli.main(["export", str(tmp_path / "m.chainrule"), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "input_spec" in err and "Traceback" not in err
    assert not (tmp_path / "m.onnx").exists()
