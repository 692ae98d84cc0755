"""KL(p ‖ q) = E_p[log p − log q] in closed form, for pairs of one family.

    Normal       log(σq/σp) + (σp² + (μp − μq)²)/(2σq²) − ½
    Bernoulli    p log(p/q) + (1 − p) log((1 − p)/(1 − q))
    Categorical  Σ p (log p − log q)
"""

from chainrule import ops
from chainrule.distributions.bernoulli import Bernoulli
from chainrule.distributions.categorical import Categorical
from chainrule.distributions.normal import Normal


def _normal(p, q):
    ratio = p.scale / q.scale
    return 0.5 * (ratio * ratio + ((p.loc - q.loc) / q.scale) ** 2 - 1) - ops.log(ratio)


def _bernoulli(p, q):
    return (p.probs * (ops.softplus(-q.logits) - ops.softplus(-p.logits))
            + (1 - p.probs) * (ops.softplus(q.logits) - ops.softplus(p.logits)))


def _categorical(p, q):
    return ops.sum(p.probs * (p.logits - q.logits), -1)


_RULES = {(Normal, Normal): _normal, (Bernoulli, Bernoulli): _bernoulli,
          (Categorical, Categorical): _categorical}


def kl_divergence(p, q):
    """KL(p ‖ q) for two distributions of one family (Normal, Bernoulli, Categorical)."""
    rule = _RULES.get((type(p), type(q)))
    if rule is None:
        raise NotImplementedError(f"kl_divergence: no closed form here for {type(p).__name__} against "
                                  f"{type(q).__name__}; pairs of one family among Normal, Bernoulli and "
                                  "Categorical have one")
    return rule(p, q)
