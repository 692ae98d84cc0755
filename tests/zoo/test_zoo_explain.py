"""cr.explain.trace on models other than the worked examples, and what it refuses."""

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.losses import sse_loss


def test_dense_layers_with_built_in_activations_trace_like_linear_plus_activation():
    cr.manual_seed(0)
    dense = cr.Sequential([nn.Dense(3, activation="tanh", input_shape=(2,)),
                           nn.Dense(1, activation="sigmoid")])
    dense(cr.zeros((1, 2)))  # the second Dense finds its input size
    dense.double()
    linear = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid()).double()
    linear.load_state_dict({"0.weight": dense[0].weight.numpy(), "0.bias": dense[0].bias.numpy(),
                            "2.weight": dense[1].weight.numpy(), "2.bias": dense[1].bias.numpy()})
    x, t = numpy.array([[0.3, -0.7], [1.0, 0.5]]), numpy.array([[1.0], [0.0]])
    a = cr.explain.trace(dense, x, t, loss=sse_loss, lr=0.1)
    b = cr.explain.trace(linear, x, t, loss=sse_loss, lr=0.1)
    assert a.layers[0].activation == "tanh"
    for left, right in zip(a.layers, b.layers):
        numpy.testing.assert_allclose(left.net, right.net, rtol=0, atol=1e-12)
        numpy.testing.assert_allclose(left.delta, right.delta, rtol=0, atol=1e-12)
        numpy.testing.assert_allclose(left.new_weight, right.new_weight, rtol=0, atol=1e-12)
    # the update really happened, in place
    numpy.testing.assert_allclose(dense[0].weight.numpy(), a.layers[0].new_weight)
    assert a.loss_after < a.loss
    assert "[" in a.render()  # a batch of two prints each number as a list over the batch


def test_delta_is_the_gradient_of_the_error_with_respect_to_the_net_input():
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid()).double()
    x, t = numpy.array([0.2, -0.1, 0.4]), numpy.array([0.0, 1.0])
    w, b = model[0].weight.numpy().copy(), model[0].bias.numpy().copy()
    step = cr.explain.trace(model, x, t, loss=sse_loss, lr=1.0)
    out = 1 / (1 + numpy.exp(-(w @ x + b)))
    numpy.testing.assert_allclose(step.layers[0].delta[0], (out - t) * out * (1 - out), rtol=0, atol=1e-12)
    numpy.testing.assert_allclose(step.layers[0].grad_weight, numpy.outer((out - t) * out * (1 - out), x),
                                  rtol=0, atol=1e-12)


def test_trace_refuses_what_it_cannot_explain():
    with pytest.raises(cr.ChainruleError, match="Conv2d"):
        cr.explain.trace(nn.Sequential(nn.Linear(4, 4), nn.Conv2d(1, 1, 1)), numpy.ones(4), numpy.ones(4),
                         loss=sse_loss, lr=0.1)
    with pytest.raises(cr.ChainruleError, match="elementwise"):
        cr.explain.trace(nn.Sequential(nn.Linear(2, 2), nn.Softmax()), numpy.ones(2), numpy.ones(2),
                         loss=sse_loss, lr=0.1)
    with pytest.raises(cr.ShapeError, match="target"):
        cr.explain.trace(nn.Sequential(nn.Linear(2, 2)), numpy.ones(2), numpy.ones(3), loss=sse_loss, lr=0.1)


def test_trace_takes_a_loss_by_name_as_compile_does():
    def network():
        model = cr.Sequential([nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()])
        model.load_state_dict({"0.weight": numpy.array([[0.1, 0.2], [0.3, 0.4]], "float32"),
                               "0.bias": numpy.zeros(2, "float32"),
                               "2.weight": numpy.array([[0.5, -0.6]], "float32"),
                               "2.bias": numpy.zeros(1, "float32")})
        return model

    x, target = numpy.array([[1.0, 0.0]], "float32"), numpy.array([[1.0]], "float32")
    by_name = cr.explain.trace(network(), x, target, "sse", 0.5)
    by_function = cr.explain.trace(network(), x, target, sse_loss, 0.5)
    assert by_name.render(digits=9) == by_function.render(digits=9)
    with pytest.raises(cr.errors.ConfigError, match="unknown loss 'ssee'"):
        cr.explain.trace(network(), x, target, "ssee", 0.5)
