"""``keras.layers``: Keras 3's layers (channels-last), each a thin class over a chainrule.nn engine."""

from chainrule.keras.layers.attention import MultiHeadAttention
from chainrule.keras.layers.conv import Conv1D, Conv2D
from chainrule.keras.layers.conv_transpose import Conv2DTranspose
from chainrule.keras.layers.core import (
    Activation,
    Add,
    Average,
    Concatenate,
    Dense,
    Dropout,
    Flatten,
    Maximum,
    Minimum,
    Multiply,
    Reshape,
    Subtract,
    add,
    average,
    maximum,
    minimum,
    multiply,
    subtract,
)
from chainrule.keras.layers.core import concatenate_layers as concatenate
from chainrule.keras.layers.functional import Input, InputLayer
from chainrule.keras.layers.layer import Layer
from chainrule.keras.layers.normalization import (
    BatchNormalization,
    Embedding,
    Normalization,
    UnitNormalization,
)
from chainrule.keras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from chainrule.keras.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from chainrule.keras.layers.regularization import GaussianNoise, SpatialDropout1D
from chainrule.keras.layers.shaping import (
    ELU,
    Cropping2D,
    Identity,
    Lambda,
    LayerNormalization,
    LeakyReLU,
    Permute,
    PReLU,
    ReLU,
    RepeatVector,
    Rescaling,
    Softmax,
    TimeDistributed,
    UpSampling2D,
    ZeroPadding2D,
)

MaxPool2D, AvgPool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D
MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D

__all__ = ["GRU", "LSTM", "Activation", "Add", "AveragePooling2D", "AvgPool2D", "BatchNormalization",
           "Bidirectional", "Concatenate", "Conv1D", "Conv2D", "Conv2DTranspose", "Dense", "Dropout",
           "Embedding", "Flatten", "GlobalAvgPool2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Input", "InputLayer", "Layer", "MaxPool2D",
           "MaxPooling2D", "Reshape", "SimpleRNN", "Average", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract", "AveragePooling1D",
           "AvgPool1D", "LayerNormalization", "LeakyReLU", "MaxPool1D", "MaxPooling1D", "ReLU", "Softmax",
           "UpSampling2D", "ZeroPadding2D", "Lambda", "Rescaling", "MultiHeadAttention", "Normalization",
           "RepeatVector", "TimeDistributed", "Permute", "Identity", "Cropping2D", "UnitNormalization", "ELU",
           "PReLU", "GaussianNoise", "SpatialDropout1D"]
