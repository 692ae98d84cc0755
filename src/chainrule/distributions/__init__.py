"""``torch.distributions``: the probability distributions a course samples from and scores with,
``Normal`` (a VAE's reparameterised sample), ``Categorical`` (a policy's action), ``Bernoulli``,
``Multinomial`` (dice in a probability chapter), ``Uniform``, and ``kl_divergence``.

``log_prob``, ``entropy`` and ``rsample`` are differentiable in the parameters (compositions of the
ops); ``sample`` draws without a graph from the library's generator (``chainrule.manual_seed``), so
its numbers are not PyTorch's for a seed. As PyTorch's (``validate_args`` on by default), bad
parameters and values outside the support raise ``ValueError`` naming them.
"""

from chainrule.distributions.bernoulli import Bernoulli
from chainrule.distributions.categorical import Categorical
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.kl import kl_divergence
from chainrule.distributions.multinomial import Multinomial
from chainrule.distributions.normal import Normal
from chainrule.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Multinomial", "Normal", "Uniform", "kl_divergence"]
