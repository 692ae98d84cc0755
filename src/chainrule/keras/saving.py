"""The Keras door's classes that model files may name ("keras.Dense", "keras.Adam", ...), for
:mod:`chainrule.io.registry`: written out by hand, like the engine's lists, and registered when
``chainrule.keras`` is imported (io never imports the door; a file naming "keras.*" classes imports it)."""

from chainrule.io import registry
from chainrule.keras import layers, models, optimizers

LAYERS = {f"keras.{name}": getattr(layers, name) for name in (
    "Dense", "Activation", "Add", "Concatenate", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "Dropout", "Flatten", "Reshape", "Conv1D", "Conv2D",
    "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalAveragePooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling1D", "BatchNormalization", "Embedding", "SimpleRNN", "LSTM", "GRU",
    "Bidirectional", "MaxPooling1D", "AveragePooling1D", "LayerNormalization", "UpSampling2D",
    "ZeroPadding2D", "ReLU", "LeakyReLU", "Softmax", "Rescaling", "MultiHeadAttention", "Normalization",
    "RepeatVector", "Permute", "Identity", "Cropping2D", "UnitNormalization", "ELU", "PReLU", "GaussianNoise",
    "SpatialDropout1D",
    "Lambda",  # known, so that saving one says why it cannot be (its function is code)
)}
LAYERS["keras.Sequential"] = models.Sequential
LAYERS["keras.Model"] = models.Model  # a functional model: its layers, and its wiring under "graph"

OPTIMIZERS = {f"keras.{name}": getattr(optimizers, name) for name in (
    "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta",
)}

registry.register_door(LAYERS, OPTIMIZERS)
