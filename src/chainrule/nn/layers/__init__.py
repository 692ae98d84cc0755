"""The layers, one family per file. The public names are re-exported by ``chainrule.nn``."""

from chainrule.nn.layers.activation import (
    Heaviside,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Step,
    Tanh,
)
from chainrule.nn.layers.containers import ModuleDict, ModuleList, Sequential
from chainrule.nn.layers.dropout import Dropout
from chainrule.nn.layers.linear import Dense, Linear
from chainrule.nn.layers.reshape import Flatten, Identity, Reshape
