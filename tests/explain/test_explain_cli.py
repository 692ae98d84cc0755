"""``chainrule explain graph|saliency|filters`` and the decision boundaries of ``chainrule train``."""

import shutil

import numpy
import pytest

import chainrule as cr
from chainrule import cli, zoo

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def test_explain_graph_writes_the_dot_text(tmp_path, capsys):
    assert cli.main(["explain", "graph", "mlp", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    dot = (tmp_path / "mlp_graph.dot").read_text()
    for label in ("0.weight\\n(512, 784)", "4.bias\\n(10)", "softmax", "relu"):
        assert label in dot
    if shutil.which("dot"):
        assert (tmp_path / "mlp_graph.png").read_bytes()[:4] == b"\x89PNG" and "graph picture" in out
    else:
        assert "no picture" in out


def test_explain_saliency_of_a_saved_model(tmp_path, capsys):
    cr.manual_seed(0)
    model = zoo.get("lenet5").build()
    image = numpy.zeros((28, 28), dtype=numpy.float32)
    image[5:23, 12:16] = 1.0
    model.predict(image.reshape(1, 1, 28, 28))
    model.save(tmp_path / "lenet5.chainrule")
    Image.fromarray((image * 255).astype("uint8")).save(tmp_path / "one.png")
    assert cli.main(["explain", "saliency", str(tmp_path / "lenet5.chainrule"), str(tmp_path / "one.png"),
                     "--method", "integrated_gradients", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    predicted = int(model.predict(image.reshape(1, 1, 28, 28)).argmax())
    assert f"predicted class: {predicted}" in out
    assert (tmp_path / "one_saliency.png").is_file()


def test_explain_filters_of_a_zoo_model_and_its_mistakes(tmp_path, capsys):
    assert cli.main(["explain", "filters", "lenet5", "--out", str(tmp_path)]) == 0
    assert "filters of layer '0' (Conv2d)" in capsys.readouterr().out
    assert (tmp_path / "lenet5_filters.png").is_file()
    assert cli.main(["explain", "filters", "char_rnn", "--out", str(tmp_path)]) == 1
    assert "no filters to draw" in capsys.readouterr().err
    assert cli.main(["explain", "saliency", "only-one-argument"]) == 1
    assert "takes FILE IMAGE.png" in capsys.readouterr().err
    assert cli.main(["explain", "tlu", "surplus"]) == 1


@pytest.mark.parametrize("name, files", [("tlu", ["tlu_and_boundary.png", "tlu_implication_boundary.png"]),
                                         ("perceptron", ["perceptron_boundary.png",
                                                         "perceptron_xor_boundary.png"])])
def test_train_draws_the_decision_boundaries(name, files, tmp_path, capsys):
    assert cli.main(["train", name, "--epochs", "20", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    for file in files:
        assert (tmp_path / file).is_file() and str(tmp_path / file) in out
