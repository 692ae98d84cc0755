"""The functional form of every layer and loss: ``import chainrule.nn.functional as F``.

A hub of re-exports, one section per family; the code lives beside its layer.
"""


# ---- linear, activations, dropout (nn/layers/linear.py, activation.py, dropout.py)

# ---- losses and regularisation (nn/losses.py)

# ---- convolution and pooling (ops/conv.py, nn/layers/conv.py, pooling.py)

# ---- normalisation and embedding (nn/layers/normalization.py, embedding.py)

# ---- recurrent cells (nn/layers/recurrent.py)
