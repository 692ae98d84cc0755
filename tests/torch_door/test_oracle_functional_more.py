"""The rest of ``torch.nn.functional`` a lecture reaches for (similarity, attention, the smaller
activations, KL divergence, ranking and embedding losses) and their ``nn`` layers, against torch 2.13:
values and the gradients they send back."""

import numpy as np
import pytest
from torch_oracle import A, B, idiom_test, registry

IDIOMS, idiom = registry()
Q = np.random.default_rng(1).standard_normal((2, 4, 6)).astype(np.float32)
K = np.random.default_rng(2).standard_normal((2, 5, 6)).astype(np.float32)
V = np.random.default_rng(3).standard_normal((2, 5, 3)).astype(np.float32)


def _with_grads(m, make):
    """``make(x, y)``'s value and the gradients of its sum, x and y from A and B."""
    x, y = m.T.tensor(A, requires_grad=True), m.T.tensor(B, requires_grad=True)
    out = make(x, y)
    out.sum().backward()
    return out, x.grad, y.grad


@idiom
def similarity_and_distances(m):
    return (_with_grads(m, lambda x, y: m.F.normalize(x)),
            _with_grads(m, lambda x, y: m.F.normalize(x, p=1, dim=0)),
            _with_grads(m, lambda x, y: m.F.cosine_similarity(x, y)),
            _with_grads(m, lambda x, y: m.F.cosine_similarity(x, y, dim=0)),
            _with_grads(m, lambda x, y: m.F.pairwise_distance(x, y)),
            _with_grads(m, lambda x, y: m.F.pairwise_distance(x, y, p=1.0, keepdim=True)),
            _with_grads(m, lambda x, y: m.nn.CosineSimilarity(dim=1)(x, y)),
            _with_grads(m, lambda x, y: m.nn.PairwiseDistance()(x, y)))


@idiom
def attention(m):
    q, k, v = (m.T.tensor(a, requires_grad=True) for a in (Q, K, V))
    plain = m.F.scaled_dot_product_attention(q, k, v)
    causal = m.F.scaled_dot_product_attention(q, k[:, :4], v[:, :4], is_causal=True)
    masked = m.F.scaled_dot_product_attention(q, k, v, attn_mask=m.T.tensor(K[0, :4, :5] > 0), scale=0.3)
    added = m.F.scaled_dot_product_attention(q, k, v, attn_mask=m.T.tensor(Q[0, :, :5]))
    (plain.sum() + causal.sum() + masked.sum() + added.sum()).backward()
    return plain, causal, masked, added, q.grad, k.grad, v.grad


@idiom
def small_activations(m):
    functions = [m.F.relu6, m.F.hardsigmoid, m.F.hardswish, m.F.logsigmoid, m.F.softsign, m.F.mish,
                 m.F.tanhshrink, lambda x: m.F.celu(x, 0.5), m.F.glu, lambda x: m.F.glu(x, 0),
                 lambda x: m.F.softmin(x, 1), lambda x: m.F.threshold(x, 0.1, 20.0), m.F.softshrink,
                 lambda x: m.F.hardshrink(x, 0.3)]
    layers = [m.nn.ReLU6(), m.nn.Hardsigmoid(), m.nn.Hardswish(), m.nn.LogSigmoid(), m.nn.Softsign(),
              m.nn.Mish(), m.nn.Tanhshrink(), m.nn.CELU(0.5), m.nn.GLU(), m.nn.Softmin(dim=1),
              m.nn.Threshold(0.1, 20.0), m.nn.Softshrink(0.2), m.nn.Hardshrink()]
    scaled = lambda f: (lambda x, y: f(x * 4))  # noqa: E731 - over the activations' bends
    return [_with_grads(m, scaled(f)) for f in functions + layers]


@idiom
def kl_divergence_as_distillation_writes_it(m):
    student = m.T.tensor(A, requires_grad=True)
    teacher = m.F.softmax(m.T.tensor(B), dim=1)
    log_p = m.F.log_softmax(student, dim=1)
    values = [m.F.kl_div(log_p, teacher, reduction=r) for r in ("batchmean", "sum", "mean")]
    values.append(m.F.kl_div(log_p, m.T.log(teacher), reduction="batchmean", log_target=True))
    values.append(m.nn.KLDivLoss(reduction="batchmean")(log_p, teacher))
    pointwise = m.F.kl_div(log_p, m.T.tensor([[0.0, 0.5, 0.5, 0.0]] * 3), reduction="none")  # 0·log 0 = 0
    (sum(values) + pointwise.sum()).backward()
    return values, pointwise, student.grad


@idiom
def ranking_and_embedding_losses(m):
    x1, x2 = m.T.tensor(A, requires_grad=True), m.T.tensor(B, requires_grad=True)
    signs = m.T.tensor([1.0, -1.0, 1.0])
    grid = m.T.tensor(np.sign(B).astype(np.float32))
    losses = [m.F.margin_ranking_loss(x1[:, 0], x2[:, 0], signs, margin=0.1),
              m.nn.MarginRankingLoss(0.2, reduction="sum")(x1[:, 1], x2[:, 1], signs),
              m.F.hinge_embedding_loss(x1, grid), m.nn.HingeEmbeddingLoss(margin=0.5)(x1, grid),
              m.F.soft_margin_loss(x1, grid), m.nn.SoftMarginLoss(reduction="none")(x1, grid).sum(),
              m.F.cosine_embedding_loss(x1, x2, signs), m.nn.CosineEmbeddingLoss(0.1)(x1, x2, signs),
              m.F.triplet_margin_loss(x1, x2, x1.flip(0)),
              m.nn.TripletMarginLoss(margin=0.5, swap=True)(x1, x2, x2 * 2),
              m.F.poisson_nll_loss(x1, x2.abs()),
              m.nn.PoissonNLLLoss(log_input=False, full=True)(x1.abs(), x2.abs() * 3),
              m.F.gaussian_nll_loss(x1, x2, (x1 * x1).detach() + 0.1),
              m.nn.GaussianNLLLoss(full=True)(x1, x2, m.T.ones(3, 4))]
    sum(losses).backward()
    return losses, x1.grad, x2.grad


@idiom
def pixel_shuffle_upsamples(m):
    x = m.T.arange(2 * 8 * 2 * 3, dtype=m.T.float32).reshape(2, 8, 2, 3)
    return m.F.pixel_shuffle(x, 2), m.nn.PixelShuffle(2)(x)


# torch warns that kl_div's 'mean' is not the KL's mean ('batchmean' is): its advice, not ours to test
test_idiom_agrees_with_torch = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")(
    idiom_test(IDIOMS))
