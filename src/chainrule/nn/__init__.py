"""Neural-network building blocks: Module, Parameter, layers, losses, initialisers."""

from chainrule.nn import functional, init, losses, regularization, utils
from chainrule.nn.embedding_losses import (
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
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
from chainrule.nn.layers.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from chainrule.nn.layers.conv import Conv1d, Conv2d
from chainrule.nn.layers.conv_transpose import ConvTranspose2d
from chainrule.nn.layers.dropout import Dropout, Dropout1d, Dropout2d
from chainrule.nn.layers.embedding import Embedding
from chainrule.nn.layers.group_norm import GroupNorm
from chainrule.nn.layers.linear import Dense, Linear
from chainrule.nn.layers.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    SyncBatchNorm,
)
from chainrule.nn.layers.padding import ConstantPad1d, ConstantPad2d, ZeroPad2d
from chainrule.nn.layers.pooling import (
    AvgPool1d,
    AvgPool2d,
    GlobalAvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from chainrule.nn.layers.resampling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    PixelShuffle,
    Upsample,
)
from chainrule.nn.layers.reshape import Flatten, Identity, Reshape, Unflatten
from chainrule.nn.layers.similarity import CosineSimilarity, PairwiseDistance
from chainrule.nn.layers.small_activations import (
    CELU,
    GLU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    LogSigmoid,
    Mish,
    ReLU6,
    Softmax2d,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from chainrule.nn.layers.smooth_activations import ELU, GELU, SELU, Hardtanh, PReLU, SiLU
from chainrule.nn.layers.transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from chainrule.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CrossEntropyLoss,
    HingeLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
    SparseCategoricalCrossentropy,
    SSELoss,
)
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.regularization import l1_penalty, l2_penalty
