"""``torch.distributions`` as courses use it (a VAE's Normal, a policy's Categorical, a probability
chapter's dice), against torch 2.13: densities, entropies, moments, KL and their gradients exactly;
samples by shape, dtype and statistics (their numbers come from chainrule's generator)."""

import numpy as np
import pytest
from torch_oracle import A, B, idiom_test, registry

import chainrule as cr
from chainrule.distributions import Bernoulli, Categorical, Multinomial, Normal, Uniform, kl_divergence

IDIOMS, idiom = registry()


@idiom
def normal_scores_and_its_gradients(m):
    loc = m.T.tensor(A, requires_grad=True)
    scale = m.T.tensor(np.abs(B) + 0.5, requires_grad=True)
    d = m.T.distributions.Normal(loc, scale)
    x = m.T.tensor(B)
    other = m.T.distributions.normal.Normal(m.T.zeros(4), m.T.ones(4))
    loss = (d.log_prob(x).sum() + d.entropy().sum() + m.T.distributions.kl_divergence(d, other).sum()
            + d.cdf(x).sum())
    loss.backward()
    return (d.log_prob(x), d.entropy(), d.mean, d.variance, d.stddev, d.cdf(x), d.batch_shape, d.event_shape,
            m.T.distributions.kl.kl_divergence(d, other), loc.grad, scale.grad)


@idiom
def categorical_policy_scores(m):
    logits = m.T.tensor(A, requires_grad=True)
    d = m.T.distributions.Categorical(logits=logits)
    actions = m.T.tensor([3, 0, 2])
    loss = -(d.log_prob(actions) * m.T.tensor([1.0, -0.5, 2.0])).sum() - 0.01 * d.entropy().sum()
    loss.backward()
    by_probs = m.T.distributions.Categorical(probs=m.T.tensor([1.0, 3.0, 6.0]))  # unnormalised weights
    other = m.T.distributions.Categorical(logits=m.T.tensor(B))
    return (d.log_prob(actions), d.entropy(), d.probs, d.logits, logits.grad, by_probs.probs,
            by_probs.log_prob(m.T.tensor([2, 0])), by_probs.entropy(), d.batch_shape,
            m.T.distributions.kl_divergence(d, other))


@idiom
def bernoulli_and_multinomial(m):
    p = m.T.tensor([0.2, 0.5, 0.9], requires_grad=True)
    b = m.T.distributions.Bernoulli(probs=p)
    values = m.T.tensor([1.0, 0.0, 1.0])
    by_logits = m.T.distributions.Bernoulli(logits=m.T.tensor([-1.0, 0.0, 2.0]))
    kl = m.T.distributions.kl_divergence(b, by_logits)
    (b.log_prob(values).sum() + b.entropy().sum() + kl.sum()).backward()
    dice = m.T.distributions.multinomial.Multinomial(10, m.T.ones(6) / 6)
    counts = m.T.tensor([2.0, 1.0, 3.0, 0.0, 4.0, 0.0])
    return (b.log_prob(values), b.entropy(), b.mean, b.variance, by_logits.probs, kl, p.grad,
            dice.log_prob(counts), dice.mean, dice.variance, dice.event_shape)


@idiom
def uniform_densities(m):
    d = m.T.distributions.Uniform(m.T.tensor([0.0, -1.0]), m.T.tensor([2.0, 1.0]))
    return d.log_prob(m.T.tensor([0.5, 0.0])), d.entropy(), d.mean, d.variance, d.batch_shape


@idiom
def samples_have_the_right_shapes_and_dtypes(m):
    m.T.manual_seed(0)
    n = m.T.distributions.Normal(m.T.zeros(3), m.T.ones(3))
    c = m.T.distributions.Categorical(probs=m.T.ones(2, 5))
    b = m.T.distributions.Bernoulli(probs=m.T.full((4,), 0.5))
    dice = m.T.distributions.Multinomial(1, m.T.ones(6) / 6)
    return (n.sample().shape, n.sample((5,)).shape, n.rsample((2, 1)).shape, n.sample().dtype,
            c.sample().shape, c.sample((7,)).shape, c.sample().dtype, b.sample().dtype, b.sample((2,)).shape,
            dice.sample().shape, dice.sample((500,)).shape, dice.sample().dtype, float(dice.sample().sum()))


@idiom
def a_negative_scale_is_refused(m):
    return m.T.distributions.Normal(0.0, -1.0)


@idiom
def log_prob_outside_the_support_is_refused(m):
    return m.T.distributions.Uniform(0.0, 2.0).log_prob(m.T.tensor(3.0))


@idiom
def a_category_out_of_range_is_refused(m):
    return m.T.distributions.Categorical(probs=m.T.ones(3)).log_prob(m.T.tensor(5))


@idiom
def too_many_counts_are_refused(m):
    return m.T.distributions.Multinomial(10, m.T.ones(2) / 2).log_prob(m.T.tensor([8.0, 3.0]))


@idiom
def fewer_counts_score_as_in_torch(m):
    return m.T.distributions.Multinomial(10, m.T.tensor([0.2, 0.8])).log_prob(m.T.tensor([3.0, 3.0]))


test_idiom_agrees_with_torch = idiom_test(IDIOMS)


def test_normal_samples_and_the_reparameterisation_trick():
    cr.manual_seed(3)
    loc = cr.tensor([1.0, -2.0], requires_grad=True)
    scale = cr.tensor([0.5, 2.0], requires_grad=True)
    d = Normal(loc, scale)
    draws = d.rsample((20000,))
    draws.mean().backward()
    assert np.allclose(loc.grad.numpy(), 0.5, rtol=1e-3)  # d mean / d loc: each loc is half the draws
    values = d.sample((20000,)).numpy()
    assert np.all(np.abs(values.mean(0) - [1.0, -2.0]) < 4 * np.array([0.5, 2.0]) / np.sqrt(20000))
    assert np.all(np.abs(values.std(0) / [0.5, 2.0] - 1) < 0.03)
    assert not d.sample().requires_grad and draws.requires_grad


def test_categorical_and_dice_frequencies():
    cr.manual_seed(4)
    picks = Categorical(probs=cr.tensor([1.0, 3.0, 6.0])).sample((20000,)).numpy()
    freq = np.bincount(picks, minlength=3) / picks.size
    assert np.all(np.abs(freq - [0.1, 0.3, 0.6]) < 0.015)
    rolls = Multinomial(1000, cr.ones(6) / 6).sample((50,)).numpy()
    assert np.all(rolls.sum(-1) == 1000) and abs(rolls.mean() - 1000 / 6) < 5
    coins = Bernoulli(probs=cr.tensor([0.25])).sample((20000,)).numpy()
    assert set(np.unique(coins)) <= {0.0, 1.0} and abs(coins.mean() - 0.25) < 0.015
    assert np.all(Uniform(-1.0, 3.0).sample((1000,)).numpy() >= -1.0)


def test_parameters_are_named_in_the_errors():
    with pytest.raises(ValueError, match="either probs or logits"):
        Categorical(probs=cr.ones(2), logits=cr.ones(2))
    with pytest.raises(ValueError, match="scale must be positive"):
        Normal(cr.zeros(2), cr.tensor([1.0, 0.0]))
    with pytest.raises(NotImplementedError, match="no closed form"):
        kl_divergence(Normal(0.0, 1.0), Uniform(0.0, 1.0))
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
