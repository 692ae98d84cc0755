"""Losses against plain NumPy formulas, gradcheck, the composed forms of the fused ones, and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn import losses
from chainrule.ops import loss as fused

rng = np.random.default_rng(3)
N, C = 5, 4
REDUCTIONS = ["mean", "sum", "none"]


def leaf(array):
    return cr.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def reduce(values, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)


def np_log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


y = rng.standard_normal((N, C))
t = rng.standard_normal((N, C))
probs = rng.uniform(0.05, 0.95, (N, C))
bits = (rng.random((N, C)) > 0.5).astype(np.float64)
labels = rng.integers(0, C, N)
signs = np.where(rng.random((N, C)) > 0.5, 1.0, -1.0)

# (function, prediction, target, NumPy reference of the elementwise / per-sample loss)
ELEMENTWISE = [
    (F.mse_loss, y, t, lambda p, q: (p - q) ** 2),
    (F.l1_loss, y, t, lambda p, q: np.abs(p - q)),
    (F.huber_loss, y * 2, t,
     lambda p, q: np.where(np.abs(p - q) < 1, 0.5 * (p - q) ** 2, np.abs(p - q) - 0.5)),
    (F.binary_cross_entropy, probs, bits, lambda p, q: -(q * np.log(p) + (1 - q) * np.log(1 - p))),
    (F.binary_cross_entropy_with_logits, y * 3, bits,
     lambda x, q: -(q * np.log(1 / (1 + np.exp(-x))) + (1 - q) * np.log(1 - 1 / (1 + np.exp(-x))))),
    (F.hinge_loss, y, signs, lambda p, q: np.maximum(0, 1 - p * q)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("function, prediction, target, reference", ELEMENTWISE,
                         ids=[e[0].__name__ for e in ELEMENTWISE])
def test_elementwise_losses_match_numpy_and_gradcheck(function, prediction, target, reference, reduction):
    out = function(cr.Tensor(prediction), cr.Tensor(target), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), reduce(reference(prediction, target), reduction), rtol=1e-10)
    assert gradcheck(lambda p: function(p, target, reduction=reduction), (leaf(prediction),))


def test_sse_loss_is_half_the_sum_of_squares_with_gradient_y_minus_t():
    p = leaf(y)
    loss = F.sse_loss(p, t)
    np.testing.assert_allclose(loss.item(), 0.5 * np.sum((t - y) ** 2), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), y - t, rtol=1e-12)
    np.testing.assert_allclose(F.sse_loss(cr.Tensor(y), t, reduction="mean").item(),
                               0.5 * np.mean((t - y) ** 2), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_numpy_for_labels_and_distributions(reduction, smoothing):
    logp = np_log_softmax(y)
    smooth = np.eye(C)[labels] * (1 - smoothing) + smoothing / C
    expected = reduce(-(smooth * logp).sum(axis=1), reduction)
    np.testing.assert_allclose(F.cross_entropy(cr.Tensor(y), labels, reduction, smoothing).numpy(), expected,
                               rtol=1e-10)
    dist = rng.dirichlet(np.ones(C), N)
    dist_smooth = dist * (1 - smoothing) + smoothing / C
    expected = reduce(-(dist_smooth * logp).sum(axis=1), reduction)
    np.testing.assert_allclose(F.cross_entropy(cr.Tensor(y), cr.Tensor(dist), reduction, smoothing).numpy(),
                               expected, rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_fused_cross_entropy_gradients_of_gradients(reduction, smoothing):
    def with_labels(x):
        return F.cross_entropy(x, labels, reduction, smoothing)

    def with_distribution(x, d):
        return F.cross_entropy(x, d, reduction, smoothing)

    dist = leaf(rng.dirichlet(np.ones(C), N))
    assert gradcheck(with_labels, (leaf(y),), check_forward=True)
    assert gradgradcheck(with_labels, (leaf(y),))
    assert gradcheck(with_distribution, (leaf(y), dist), check_forward=True)
    assert gradgradcheck(with_distribution, (leaf(y), dist))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_binary_losses_gradients_of_gradients(reduction):
    target = leaf(rng.uniform(0.1, 0.9, (N, C)))
    for function, prediction in ((F.binary_cross_entropy_with_logits, y), (F.binary_cross_entropy, probs)):
        def loss(p, q, function=function):
            return function(p, q, reduction=reduction)
        assert gradcheck(loss, (leaf(prediction), target), check_forward=True)
        assert gradgradcheck(loss, (leaf(prediction), target))


def test_fused_losses_equal_their_composed_forms():
    x, d = leaf(y), rng.dirichlet(np.ones(C), N)
    x2 = leaf(y)
    fused_ce = F.cross_entropy(x, cr.Tensor(d))
    composed_ce = -(cr.log_softmax(x2, axis=1) * d).sum(axis=1).mean()
    fused_ce.backward()
    composed_ce.backward()
    np.testing.assert_allclose(fused_ce.numpy(), composed_ce.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-14)

    x, x2 = leaf(y), leaf(y)
    fused_bce = F.binary_cross_entropy_with_logits(x, bits)
    s = cr.sigmoid(x2)
    composed_bce = -(bits * cr.log(s) + (1 - bits) * cr.log(1 - s)).mean()
    fused_bce.backward()
    composed_bce.backward()
    np.testing.assert_allclose(fused_bce.numpy(), composed_bce.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-10, atol=1e-14)

    p, p2 = leaf(probs), leaf(probs)
    fused_p = F.binary_cross_entropy(p, bits, reduction="sum")
    composed_p = -(bits * cr.log(p2) + (1 - bits) * cr.log(1 - p2)).sum()
    fused_p.backward()
    composed_p.backward()
    np.testing.assert_allclose(fused_p.numpy(), composed_p.numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), p2.grad.numpy(), rtol=1e-10)


def test_cross_entropy_gradient_is_softmax_minus_target_over_n():
    x = leaf(y)
    F.cross_entropy(x, labels).backward()
    softmax = np.exp(np_log_softmax(y))
    np.testing.assert_allclose(x.grad.numpy(), (softmax - np.eye(C)[labels]) / N, rtol=1e-10)


def test_losses_are_stable_for_huge_logits():
    x = leaf([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    loss = F.cross_entropy(x, np.array([1, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-12)  # (2e4 + 0) / 2
    z = leaf([[-1e4, 1e4]])
    loss = F.binary_cross_entropy_with_logits(z, np.array([[1.0, 0.0]]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), [[-0.5, 0.5]])
    p = leaf([[0.0, 1.0]])
    loss = F.binary_cross_entropy(p, np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(loss.item(), 50.0)  # log clamped at -100
    loss.backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_nll_loss_of_log_softmax_is_cross_entropy():
    x, x2 = leaf(y), leaf(y)
    a = F.nll_loss(F.log_softmax(x, axis=1), labels)
    b = F.cross_entropy(x2, labels)
    a.backward()
    b.backward()
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.nll_loss(cr.Tensor(y), labels, "none").numpy(), -y[np.arange(N), labels])


@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin_loss_matches_numpy(p, margin):
    expected = np.zeros(N)
    for i in range(N):
        for j in range(C):
            if j != labels[i]:
                expected[i] += max(0.0, margin - y[i, labels[i]] + y[i, j]) ** p / C
    out = F.multi_margin_loss(cr.Tensor(y), labels, p=p, margin=margin, reduction="none")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda x: F.multi_margin_loss(x, labels, p=p, margin=margin), (leaf(y),))


def test_cross_entropy_over_extra_axes_and_single_samples():
    x = rng.standard_normal((2, C, 3))
    target = rng.integers(0, C, (2, 3))
    flat = np.moveaxis(x, 1, -1).reshape(-1, C)
    expected = -np_log_softmax(flat)[np.arange(6), target.reshape(-1)].reshape(2, 3)
    np.testing.assert_allclose(F.cross_entropy(cr.Tensor(x), target, "none").numpy(), expected, rtol=1e-10)
    one = F.cross_entropy(cr.Tensor(y[0]), labels[0])
    np.testing.assert_allclose(one.item(), -np_log_softmax(y[:1])[0, labels[0]], rtol=1e-12)


# ---------------------------------------------------------------- PyTorch as the oracle
def _compare_with_torch(ours, theirs, prediction, target, torch, target_grad=False):
    cx, tx = leaf(prediction), torch.tensor(prediction, requires_grad=True)
    ct = leaf(target) if target_grad else target
    tt = torch.tensor(target, requires_grad=target_grad)
    out, tout = ours(cx, ct), theirs(tx, tt)
    g = rng.standard_normal(out.shape)
    out.backward(cr.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    if target_grad:
        np.testing.assert_allclose(ct.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    r = {"reduction": reduction}
    cases = [
        (lambda a, b: F.mse_loss(a, b, **r), lambda a, b: tf.mse_loss(a, b, **r), y, t, True),
        (lambda a, b: F.l1_loss(a, b, **r), lambda a, b: tf.l1_loss(a, b, **r), y, t, False),
        (lambda a, b: F.huber_loss(a, b, delta=0.7, **r), lambda a, b: tf.huber_loss(a, b, delta=0.7, **r),
         y, t, False),
        (lambda a, b: F.binary_cross_entropy(a, b, **r), lambda a, b: tf.binary_cross_entropy(a, b, **r),
         probs, bits * 0.8 + 0.1, True),
        (lambda a, b: F.binary_cross_entropy_with_logits(a, b, **r),
         lambda a, b: tf.binary_cross_entropy_with_logits(a, b, **r), y * 3, bits * 0.6 + 0.2, True),
        (lambda a, b: F.cross_entropy(a, b, label_smoothing=0.15, **r),
         lambda a, b: tf.cross_entropy(a, b, label_smoothing=0.15, **r), y, rng.dirichlet(np.ones(C), N),
         True),
    ]
    for ours, theirs, prediction, target, target_grad in cases:
        _compare_with_torch(ours, theirs, prediction, target, torch, target_grad)
    for s in (0.0, 0.15):
        _compare_with_torch(lambda a, b, s=s: F.cross_entropy(a, b, label_smoothing=s, **r),
                            lambda a, b, s=s: tf.cross_entropy(a, b, label_smoothing=s, **r), y, labels,
                            torch)
    _compare_with_torch(lambda a, b: F.nll_loss(a, b, **r), lambda a, b: tf.nll_loss(a, b, **r),
                        np_log_softmax(y), labels, torch)
    for p, m in ((1, 1.0), (2, 0.3)):
        _compare_with_torch(lambda a, b, p=p, m=m: F.multi_margin_loss(a, b, p=p, margin=m, **r),
                            lambda a, b, p=p, m=m: tf.multi_margin_loss(a, b, p=p, margin=m, **r), y, labels,
                            torch)


def test_loss_modules_match_torch_modules():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    pairs = [(nn.CrossEntropyLoss(label_smoothing=0.1), tnn.CrossEntropyLoss(label_smoothing=0.1), labels),
             (nn.MultiMarginLoss(p=2, margin=0.5), tnn.MultiMarginLoss(p=2, margin=0.5), labels),
             (nn.HuberLoss(delta=0.5), tnn.HuberLoss(delta=0.5), t),
             (nn.BCEWithLogitsLoss(reduction="sum"), tnn.BCEWithLogitsLoss(reduction="sum"), bits),
             (nn.MSELoss(), tnn.MSELoss(), t), (nn.L1Loss(), tnn.L1Loss(), t),
             (nn.NLLLoss(), tnn.NLLLoss(), labels)]
    for ours, theirs, target in pairs:
        np.testing.assert_allclose(ours(cr.Tensor(y), target).numpy(),
                                   theirs(torch.tensor(y), torch.tensor(target)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(nn.BCELoss()(cr.Tensor(probs), bits).numpy(),
                               tnn.BCELoss()(torch.tensor(probs), torch.tensor(bits)).numpy(), rtol=1e-10)


# ---------------------------------------------------------------- Keras's probability-space losses
def test_keras_categorical_crossentropy_uses_the_softmax_logits_when_it_can():
    onehot = np.eye(C)[labels]
    x = leaf(y)
    keras = F.categorical_crossentropy(F.softmax(x, axis=-1), onehot)
    keras.backward()
    x2 = leaf(y)
    reference = F.cross_entropy(x2, labels)
    reference.backward()
    np.testing.assert_allclose(keras.numpy(), reference.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-10)
    # the same numbers from the clipped formula, when no graph tells where the probabilities came from
    with cr.no_grad():
        p = F.softmax(cr.Tensor(y), axis=-1)
    clipped = F.categorical_crossentropy(p, onehot)
    expected = -np.mean(np.sum(onehot * np.log(np.clip(p.numpy(), 1e-7, 1 - 1e-7)), axis=-1))
    np.testing.assert_allclose(clipped.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(clipped.numpy(), reference.numpy(), rtol=1e-10)


def test_keras_losses_through_softmax_stay_exact_where_clipping_would_not():
    x = leaf([[50.0, -50.0, 0.0]])
    loss = F.categorical_crossentropy(F.softmax(x), np.array([[0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(loss.item(), 100.0, rtol=1e-12)  # clipping would give -log(1e-7) = 16.1
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, -1.0, 0.0]], atol=1e-12)


def test_keras_sparse_categorical_crossentropy_both_paths():
    x = leaf(y)
    fast = F.sparse_categorical_crossentropy(F.softmax(x), labels)
    p = np.exp(np_log_softmax(y))
    slow = F.sparse_categorical_crossentropy(cr.Tensor(p), labels.reshape(-1, 1), reduction="none")
    np.testing.assert_allclose(slow.numpy(), -np.log(p[np.arange(N), labels]), rtol=1e-10)
    np.testing.assert_allclose(fast.numpy(), slow.numpy().mean(), rtol=1e-10)
    assert gradcheck(lambda a: F.sparse_categorical_crossentropy(F.softmax(a), labels), (leaf(y),))


def test_keras_binary_crossentropy_both_paths():
    x = leaf(y)
    fast = F.binary_crossentropy(F.sigmoid(x), bits, reduction="none")
    s = 1 / (1 + np.exp(-y))
    expected = -(bits * np.log(s) + (1 - bits) * np.log(1 - s)).mean(axis=-1)
    np.testing.assert_allclose(fast.numpy(), expected, rtol=1e-10)
    slow = F.binary_crossentropy(cr.Tensor(s), bits)
    np.testing.assert_allclose(slow.numpy(), expected.mean(), rtol=1e-10)
    fast.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (s - bits) / C, rtol=1e-10)
    assert gradcheck(lambda a: F.binary_crossentropy(F.sigmoid(a), bits), (leaf(y),))


# ---------------------------------------------------------------- errors
def test_a_target_that_would_broadcast_raises():
    with pytest.raises(cr.ShapeError, match=r"\(5, 1\).*\(5,\)"):
        F.mse_loss(cr.ones((5, 1)), cr.ones(5))
    with pytest.raises(cr.ShapeError):
        F.binary_cross_entropy_with_logits(cr.ones(5), cr.ones((5, 1)))
    with pytest.raises(cr.ShapeError):
        F.binary_crossentropy(cr.ones((5, 1)) * 0.5, cr.ones(5))


def test_integer_labels_where_one_hot_is_expected_and_the_reverse():
    p = F.softmax(cr.Tensor(y))
    with pytest.raises(cr.ShapeError, match="sparse_categorical_crossentropy"):
        F.categorical_crossentropy(p, labels)
    with pytest.raises(cr.DTypeError, match="use categorical_crossentropy"):
        F.sparse_categorical_crossentropy(p, np.eye(C)[labels])
    with pytest.raises(cr.DTypeError, match="astype"):
        F.cross_entropy(cr.Tensor(y), labels.astype(np.float64))
    with pytest.raises(cr.DTypeError, match="look one-hot"):
        F.cross_entropy(cr.Tensor(y), np.eye(C, dtype=np.int64)[labels])
    with pytest.raises(cr.ShapeError, match="class indices of shape"):
        F.cross_entropy(cr.Tensor(y), labels[:3])
    with pytest.raises(cr.ShapeError, match=r"\[0, 4\)"):
        F.cross_entropy(cr.Tensor(y), labels + 4)
    with pytest.raises(ValueError, match="with_logits"):
        F.binary_cross_entropy(cr.Tensor(y), bits)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(cr.Tensor(y), t, reduction="average")


def test_losses_keep_float32_with_float64_targets():
    x = cr.Tensor(y.astype(np.float32), requires_grad=True)
    for loss in (F.mse_loss(x, t), F.binary_cross_entropy_with_logits(x, bits),
                 F.cross_entropy(x, labels), F.cross_entropy(x, np.eye(C)[labels]),
                 F.huber_loss(x, t), F.categorical_crossentropy(F.softmax(x), np.eye(C)[labels])):
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32


def test_loss_modules_config_and_registry():
    for module in (nn.MSELoss(reduction="sum"), nn.SSELoss(), nn.CrossEntropyLoss(label_smoothing=0.1),
                   nn.MultiMarginLoss(p=2), nn.HuberLoss(delta=2.0),
                   nn.CategoricalCrossentropy(from_logits=True), nn.SparseCategoricalCrossentropy(),
                   nn.BinaryCrossentropy(), nn.HingeLoss(), nn.BCELoss()):
        assert type(module)(**module.get_config()).get_config() == module.get_config()
    assert nn.SSELoss().reduction == "sum"
    assert losses.get("mse") is F.mse_loss
    assert losses.get("categorical_crossentropy") is F.categorical_crossentropy
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("msee")
    assert isinstance(F.cross_entropy(cr.Tensor(y), labels)._node, fused.SoftmaxCrossEntropy) is False  # leaf
    assert isinstance(F.cross_entropy(leaf(y), labels)._node, fused.SoftmaxCrossEntropy)


# ---------------------------------------------------------------- regularisation
def test_penalties_and_their_gradients():
    layer = nn.Linear(3, 2).double()
    w, b = layer.weight.numpy(), layer.bias.numpy()
    l2 = F.l2_penalty(layer.parameters())
    np.testing.assert_allclose(l2.item(), 0.5 * (np.sum(w**2) + np.sum(b**2)), rtol=1e-12)
    l2.backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), w, rtol=1e-12)
    layer.zero_grad()
    l1 = nn.l1_penalty(layer.parameters())
    np.testing.assert_allclose(l1.item(), np.sum(np.abs(w)) + np.sum(np.abs(b)), rtol=1e-12)
    l1.backward()
    np.testing.assert_allclose(layer.bias.grad.numpy(), np.sign(b))
    with pytest.raises(ValueError, match="no parameters"):
        F.l2_penalty([])
