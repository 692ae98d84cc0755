"""The course's hand-worked numbers, reproduced: the lecture's digits, and the engine's to 1e-9."""

import numpy
import pytest

from chainrule.nn.losses import sse_loss
from chainrule.zoo import backprop, tlu, xor


def sigmoid(z):
    return 1.0 / (1.0 + numpy.exp(-z))


def numpy_step(x, t, w_hidden, b_hidden, w_out, b_out, lr, train_biases):
    """One step of backprop for a 2-layer sigmoid net with E = ½Σ(t − o)², written out directly."""
    net_h = w_hidden @ x + b_hidden
    h = sigmoid(net_h)
    net_o = w_out @ h + b_out
    o = sigmoid(net_o)
    error = 0.5 * numpy.sum((t - o) ** 2)
    delta_o = (o - t) * o * (1 - o)
    delta_h = (w_out.T @ delta_o) * h * (1 - h)
    grad_w_out, grad_w_hidden = numpy.outer(delta_o, h), numpy.outer(delta_h, x)
    new = dict(w_hidden=w_hidden - lr * grad_w_hidden, w_out=w_out - lr * grad_w_out,
               b_hidden=b_hidden - lr * delta_h if train_biases else b_hidden,
               b_out=b_out - lr * delta_o if train_biases else b_out)
    after_o = sigmoid(new["w_out"] @ sigmoid(new["w_hidden"] @ x + new["b_hidden"]) + new["b_out"])
    return dict(net_h=net_h, h=h, net_o=net_o, o=o, error=error, delta_o=delta_o, delta_h=delta_h,
                grad_w_out=grad_w_out, grad_w_hidden=grad_w_hidden,
                error_after=0.5 * numpy.sum((t - after_o) ** 2), **new)


@pytest.fixture(scope="module")
def backprop_step():
    return backprop.trace_step()


@pytest.fixture(scope="module")
def backprop_direct():
    return numpy_step(numpy.array([0.05, 0.10]), numpy.array([0.01, 0.99]),
                      numpy.array([[0.15, 0.20], [0.25, 0.30]]), numpy.array([0.35, 0.35]),
                      numpy.array([[0.40, 0.45], [0.50, 0.55]]), numpy.array([0.60, 0.60]),
                      lr=0.5, train_biases=False)


# the lecture's printed values (rounded as printed there)
LECTURE_BACKPROP = {
    "net_h1": 0.3775, "out_h1": 0.593269992, "out_h2": 0.596884378, "net_o1": 1.105905967,
    "out_o1": 0.75136507, "out_o2": 0.772928465, "E": 0.298371109, "dE/dw5": 0.082167041,
    "w5+": 0.35891648, "w6+": 0.408666186, "w7+": 0.511301270, "w8+": 0.561370121,
    "w1+": 0.149780716, "w2+": 0.19956143, "w3+": 0.24975114, "w4+": 0.29950229,
}


def test_backprop_matches_the_lecture_digits(backprop_step):
    layer1, layer2 = backprop_step.layers
    weights = backprop_step.weights()
    ours = {
        "net_h1": layer1.net[0, 0], "out_h1": layer1.out[0, 0], "out_h2": layer1.out[0, 1],
        "net_o1": layer2.net[0, 0], "out_o1": layer2.out[0, 0], "out_o2": layer2.out[0, 1],
        "E": backprop_step.loss, "dE/dw5": weights["w5"][1],
        **{f"w{k}+": weights[f"w{k}"][2] for k in range(1, 9)},
    }
    for name, printed in LECTURE_BACKPROP.items():
        decimals = len(repr(printed).split(".")[1])
        assert round(float(ours[name]), decimals) == pytest.approx(printed, abs=1e-12), name


def test_backprop_equals_a_direct_numpy_computation(backprop_step, backprop_direct):
    d = backprop_direct
    layer1, layer2 = backprop_step.layers
    close = dict(rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(layer1.net[0], d["net_h"], **close)
    numpy.testing.assert_allclose(layer1.out[0], d["h"], **close)
    numpy.testing.assert_allclose(layer2.net[0], d["net_o"], **close)
    numpy.testing.assert_allclose(layer2.out[0], d["o"], **close)
    numpy.testing.assert_allclose(layer2.delta[0], d["delta_o"], **close)
    numpy.testing.assert_allclose(layer1.delta[0], d["delta_h"], **close)
    numpy.testing.assert_allclose(layer2.grad_weight, d["grad_w_out"], **close)
    numpy.testing.assert_allclose(layer1.grad_weight, d["grad_w_hidden"], **close)
    numpy.testing.assert_allclose(layer2.new_weight, d["w_out"], **close)
    numpy.testing.assert_allclose(layer1.new_weight, d["w_hidden"], **close)
    numpy.testing.assert_allclose(layer1.new_bias, d["b_hidden"], **close)
    assert backprop_step.loss == pytest.approx(d["error"], abs=1e-9)
    assert backprop_step.loss_after == pytest.approx(d["error_after"], abs=1e-9)
    assert backprop_step.loss_after < backprop_step.loss


def test_backprop_table_prints_every_number_to_nine_digits(backprop_step, backprop_direct):
    text = backprop_step.render(digits=9)
    for snippet in ["0.593269992", "0.298371109", "0.082167041", "0.35891648", "0.408666186",
                    "0.511301270", "0.561370121", "0.149780716", "0.19956143", "0.24975114",
                    "Error after the update"]:
        assert snippet in text
    d = backprop_direct
    numbers = [*d["net_h"], *d["h"], *d["net_o"], *d["o"], *d["delta_o"], *d["delta_h"],
               *d["grad_w_hidden"].ravel(), *d["grad_w_out"].ravel(), *d["w_hidden"].ravel(),
               *d["w_out"].ravel(), d["error"], d["error_after"]]
    for value in numbers:
        assert f"{value:.9f}" in text
    assert text.count("⁺ = 0.") == 8  # eight weights updated, the biases held fixed
    assert "held fixed" in text


def test_trace_also_updates_biases_when_they_train():
    step = backprop.trace_step(backprop.build(train_biases=True))
    d = numpy_step(numpy.array([0.05, 0.10]), numpy.array([0.01, 0.99]),
                   numpy.array([[0.15, 0.20], [0.25, 0.30]]), numpy.array([0.35, 0.35]),
                   numpy.array([[0.40, 0.45], [0.50, 0.55]]), numpy.array([0.60, 0.60]),
                   lr=0.5, train_biases=True)
    numpy.testing.assert_allclose(step.layers[0].new_bias, d["b_hidden"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[1].new_bias, d["b_out"], rtol=0, atol=1e-9)
    assert step.loss_after == pytest.approx(d["error_after"], abs=1e-9)


def test_xor_textbook_network_and_its_update():
    lines = []
    xor.explain(lines.append)
    text = "\n".join(lines)
    assert "hidden outputs 0.90 and 0.17, output 0.76" in text

    from chainrule.explain import trace

    step = trace(xor.build(textbook=True), numpy.array([1.0, 0.0]), numpy.array([1.0]),
                 loss=sse_loss, lr=10.0)
    d = numpy_step(numpy.array([1.0, 0.0]), numpy.array([1.0]),
                   numpy.array([[3.7, 3.7], [2.9, 2.9]]), numpy.array([-1.5, -4.5]),
                   numpy.array([[4.5, -5.2]]), numpy.array([-2.0]), lr=10.0, train_biases=True)
    numpy.testing.assert_allclose(step.layers[0].out[0], d["h"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[1].delta[0], d["delta_o"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[0].delta[0], d["delta_h"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[1].new_weight, d["w_out"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[0].new_weight, d["w_hidden"], rtol=0, atol=1e-9)
    numpy.testing.assert_allclose(step.layers[0].new_bias, d["b_hidden"], rtol=0, atol=1e-9)
    # the textbook's δ of the output, (t − o)·o·(1 − o), is −∂E/∂net
    assert f"δ_o1 = {-(1.0 - d['o'][0]) * d['o'][0] * (1 - d['o'][0]):.4f}" in text


def test_truth_tables():
    and_rows = [(row, out) for row, _, out in tlu.truth_table(tlu.and_unit())]
    assert and_rows == [((0, 0), 0), ((0, 1), 0), ((1, 0), 0), ((1, 1), 1)]
    implication = {row: (total, out) for row, total, out in tlu.truth_table(tlu.implication_unit())}
    # x2 → x1 is false only for x1 = 0, x2 = 1
    assert {row: out for row, (_, out) in implication.items()} == {
        (0, 0): 1, (0, 1): 0, (1, 0): 1, (1, 1): 1}
    assert implication[(0, 1)][0] == -2.0 and implication[(1, 0)][0] == 2.0
    lines = []
    tlu.explain(lines.append)
    text = "\n".join(lines)
    assert "threshold θ = 4" in text and "threshold θ = -1" in text
