"""cross_entropy / nll_loss with class weights and ignore_index, checked against PyTorch's rules."""

import numpy
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.errors import DTypeError
from chainrule.nn import losses as F
from chainrule.ops import loss as fused

torch = pytest.importorskip("torch")
rng = numpy.random.default_rng(7)


def _case(shape, ignore=True, dtype=numpy.float64):
    logits = rng.normal(size=shape).astype(dtype)
    num_classes = shape[1]
    labels = rng.integers(0, num_classes, size=(shape[0], *shape[2:]))
    if ignore:
        labels.reshape(-1)[::3] = -100
    weight = rng.uniform(0.2, 2.0, size=num_classes).astype(dtype)
    return logits, labels, weight


def _torch_ce(logits, labels, weight, reduction, smoothing):
    x = torch.tensor(logits, requires_grad=True)
    w = None if weight is None else torch.tensor(weight)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor(labels), weight=w, reduction=reduction,
                                             label_smoothing=smoothing)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_torch(shape, reduction, smoothing, weighted):
    logits, labels, weight = _case(shape)
    weight = weight if weighted else None
    x = cr.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, labels, reduction=reduction, label_smoothing=smoothing, weight=weight)
    loss.backward(cr.Tensor(numpy.ones(loss.shape)))
    expected, expected_grad = _torch_ce(logits, labels, weight, reduction, smoothing)
    numpy.testing.assert_allclose(loss.data, expected, rtol=1e-10, atol=1e-12)
    numpy.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_with_weight_match_torch(smoothing):
    logits, _, weight = _case((5, 4), ignore=False)
    target = rng.dirichlet(numpy.ones(4), size=5)
    for reduction in ("mean", "sum", "none"):
        got = F.cross_entropy(cr.Tensor(logits), target, reduction=reduction, weight=weight,
                              label_smoothing=smoothing)
        expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                                     weight=torch.tensor(weight), reduction=reduction,
                                                     label_smoothing=smoothing)
        numpy.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10)


def test_cross_entropy_fused_primitive_stays_one_node():
    logits, labels, weight = _case((6, 4))
    x = cr.Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, labels, weight=weight, ignore_index=-100)
    assert isinstance(loss._node, fused.SoftmaxCrossEntropy)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_weighted_ignored_gradcheck(smoothing):
    logits, labels, weight = _case((5, 3))

    def f(x):
        return F.cross_entropy(x, labels, weight=weight, label_smoothing=smoothing)

    gradcheck(f, [cr.Tensor(logits, requires_grad=True)])


def test_cross_entropy_weighted_probability_target_gradcheck_both_inputs():
    logits, _, weight = _case((4, 3), ignore=False)
    target = rng.dirichlet(numpy.ones(3), size=4)

    def f(x, t):
        return F.cross_entropy(x, t, weight=weight, label_smoothing=0.1, reduction="sum")

    gradcheck(f, [cr.Tensor(logits, requires_grad=True), cr.Tensor(target, requires_grad=True)])


def test_custom_ignore_index_and_float32_stays_float32():
    logits, labels, weight = _case((6, 4), ignore=False, dtype=numpy.float32)
    labels[1] = 2
    got = F.cross_entropy(cr.Tensor(logits), labels, weight=weight, ignore_index=2)
    assert got.dtype == numpy.float32
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels),
                                                 weight=torch.tensor(weight), ignore_index=2)
    numpy.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-5)


def test_empty_batch_and_all_ignored_mean_is_nan_with_zero_gradient():
    empty = F.cross_entropy(cr.Tensor(numpy.zeros((0, 3), numpy.float32)), numpy.zeros(0, numpy.int64))
    assert numpy.isnan(empty.item())
    assert numpy.isnan(F.nll_loss(cr.Tensor(numpy.zeros((0, 3))), numpy.zeros(0, numpy.int64)).item())
    x = cr.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, numpy.array([-100, -100]))
    assert numpy.isnan(loss.item())
    loss.backward()
    numpy.testing.assert_array_equal(x.grad.data, 0.0)  # as torch: ignored samples send no gradient


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(shape, reduction, weighted):
    logits, labels, weight = _case(shape)
    weight = weight if weighted else None
    x = cr.Tensor(logits, requires_grad=True)
    loss = F.nll_loss(x, labels, reduction=reduction, weight=weight)
    loss.backward(cr.Tensor(numpy.ones(loss.shape)))
    tx = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.nll_loss(tx, torch.tensor(labels), reduction=reduction,
                                            weight=None if weight is None else torch.tensor(weight))
    expected.backward(torch.ones_like(expected))
    numpy.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_nll_loss_gradcheck_and_integer_input_raises():
    logits, labels, weight = _case((5, 3))
    gradcheck(lambda x: F.nll_loss(x, labels, weight=weight), [cr.Tensor(logits, requires_grad=True)])
    with pytest.raises(DTypeError, match="nll_loss"):
        F.nll_loss(cr.Tensor(numpy.zeros((2, 3), numpy.int64)), numpy.array([0, 1]))


def test_loss_layers_take_weight_and_ignore_index_and_round_trip_config():
    logits, labels, weight = _case((6, 4))
    for layer_type, function in ((F.CrossEntropyLoss, F.cross_entropy), (F.NLLLoss, F.nll_loss)):
        layer = layer_type(weight=weight, ignore_index=-100)
        rebuilt = layer_type(**layer.get_config())
        expected = function(cr.Tensor(logits), labels, weight=weight)
        numpy.testing.assert_allclose(rebuilt(cr.Tensor(logits), labels).data, expected.data, rtol=1e-6)


def test_probability_targets_reject_a_real_ignore_index():
    with pytest.raises(cr.errors.ConfigError, match="ignore_index"):
        F.cross_entropy(cr.Tensor(numpy.zeros((2, 3))), numpy.full((2, 3), 1 / 3), ignore_index=0)


def test_weighted_cross_entropy_second_derivative_and_single_sample():
    from chainrule.autograd import gradgradcheck

    logits, labels, weight = _case((4, 3))
    gradgradcheck(lambda x: F.cross_entropy(x, labels, weight=weight, label_smoothing=0.1),
                  [cr.Tensor(logits, requires_grad=True)])
    one = rng.normal(size=3)
    got = F.cross_entropy(cr.Tensor(one), numpy.array(2), weight=weight, label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(torch.tensor(one), torch.tensor(2),
                                                 weight=torch.tensor(weight), label_smoothing=0.1)
    assert got.shape == ()
    numpy.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10)
