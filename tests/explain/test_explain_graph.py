"""cr.explain.graph: the DOT text names every op, shape and parameter of the recorded graph."""

import re
import shutil

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError


def _parse(dot):
    """{node id: label} and the set of edges (a, b) of our DOT text."""
    labels = dict(re.findall(r'^\s*(n\d+) \[label="([^"]*)"', dot, flags=re.M))
    edges = set(re.findall(r"^\s*(n\d+) -> (n\d+);", dot, flags=re.M))
    return labels, edges


def test_graph_of_a_small_network():
    cr.manual_seed(0)
    model = cr.Sequential([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)])
    out = model(cr.tensor(numpy.ones((5, 3), "float32")))
    labels, edges = _parse(cr.explain.graph(out, model=model))
    by_label = {label: node for node, label in labels.items()}
    for name, shape in [("0.weight", "(4, 3)"), ("0.bias", "(4)"), ("2.weight", "(2, 4)"), ("2.bias", "(2)"),
                        ("input", "(5, 3)"), ("tanh", "(5, 4)"), ("output", "(5, 2)")]:
        assert f"{name}\\n{shape}" in by_label, (name, sorted(by_label))
    linears = [node for node, label in labels.items() if label.startswith("linear")]
    assert sorted(labels[n] for n in linears) == ["linear\\n(5, 2)", "linear\\n(5, 4)"]
    first = by_label["linear\\n(5, 4)"]
    # the data flows input → linear → tanh → linear → output, with each layer's parameters
    assert {(by_label["input\\n(5, 3)"], first), (by_label["0.weight\\n(4, 3)"], first),
            (first, by_label["tanh\\n(5, 4)"]), (by_label["tanh\\n(5, 4)"], by_label["linear\\n(5, 2)"]),
            (by_label["linear\\n(5, 2)"], by_label["output\\n(5, 2)"])} <= edges
    assert len(edges) == 8  # 3 into each linear, linear→tanh, linear→output


def test_a_reused_tensor_appears_once():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x + x
    labels, edges = _parse(cr.explain.graph(y.sum()))
    assert list(labels.values()).count("input\\n(2)") == 1
    expected = ["output\\n()", "sum\\n()", "add\\n(2)", "mul\\n(2)", "input\\n(2)"]
    assert sorted(labels.values()) == sorted(expected)
    assert len(edges) == 5  # x→mul (once, though used twice), x→add, mul→add, add→sum, sum→output


def test_graph_refuses_what_is_not_a_tensor():
    with pytest.raises(ChainruleError, match="expected a Tensor"):
        cr.explain.graph(numpy.ones(3))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_draws_png_and_svg(tmp_path):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    dot = cr.explain.graph((x * 3.0).sum())
    png = cr.explain.render(dot, tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    small = cr.explain.render(dot, tmp_path / "small.png", dpi=30)
    assert 0 < small.stat().st_size < png.stat().st_size
    svg = cr.explain.render(dot, tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "mul" in svg


def test_render_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ChainruleError, match=r"\.gif"):
        cr.explain.render("digraph {}", tmp_path / "g.gif")
