"""Neural-network building blocks: Module, Parameter, layers, losses, initialisers."""

from chainrule.nn import functional, init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

# ---- linear, activations, dropout, containers

# ---- losses and regularisation

# ---- convolution and pooling

# ---- normalisation and embedding

# ---- recurrent
