"""The closed registry: the only classes a model file can name.

A model file says ``{"class_name": "nn.Dense", "config": {...}}``; loading looks the name up here and
calls the class with the config as keyword arguments. Nothing else is resolved: no imports by
dotted path, no pickle, no ``eval``, so a file cannot make the loader run code of its choosing. The
lists are written out by hand on purpose; a layer becomes loadable when its name is added here.
A user's own layer classes are passed to ``load_model(..., custom_objects={"Name": cls})``.
"""

from chainrule.errors import FormatError

# public names in chainrule.nn whose classes a file may name, as "nn.<name>"
NN_LAYERS = (
    # linear, reshaping, dropout
    "Linear", "Dense", "Identity", "Flatten", "Reshape", "Dropout", "Dropout2d",
    # activations as layers
    "ReLU", "Sigmoid", "Tanh", "Step", "Heaviside", "LeakyReLU", "Softplus", "Softmax", "LogSoftmax",
    "ELU", "SELU", "GELU", "SiLU", "PReLU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "LogSigmoid",
    "Softsign", "Mish", "Tanhshrink", "CELU", "GLU", "Softmin", "Softshrink", "Hardshrink", "Threshold",
    # similarity and rearranging
    "CosineSimilarity", "PairwiseDistance", "PixelShuffle",
    # more reshaping, padding, pooling and normalisation
    "Unflatten", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool1d",
    "InstanceNorm1d", "InstanceNorm2d", "Dropout1d", "Softmax2d", "ParameterList", "ParameterDict",
    # attention
    "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
    "TransformerDecoder", "Transformer",
    # containers (saved with their children's configs nested)
    "Sequential", "ModuleList",
    # convolution and pooling
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "GlobalAvgPool2d",
    "ConvTranspose2d", "AdaptiveAvgPool2d", "Upsample",
    # normalisation and embedding
    "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "Embedding",
    # recurrent
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
)

# the Keras-style models of chainrule.train, under their top-level names
MODELS = ("Model", "Sequential")

# public names in chainrule.optim that a file's compile section may name
OPTIMIZERS = ("GD", "SGD", "RMSprop", "Adam", "AdamW", "Adadelta", "Adagrad")


_models = {}  # name -> class: chainrule.train registers its models here (io sits below train)


def register_model(name, cls):
    """Make a training model class (``Model``, ``Sequential``) savable and loadable under ``name``."""
    _models[name] = cls


def model_class():
    """The class that wraps a module for training (``chainrule.train.Model``), as registered.

    ``import chainrule`` imports train, which registers it: io never imports train (no cycle).
    """
    return _models["Model"]


_door_layers = {}  # "keras.Dense" -> class: chainrule.keras registers its layers and optimisers on import
_door_optimizers = {}


def register_door(layers, optimizers):
    """Make the Keras door's classes savable and loadable under their "keras.<name>" names."""
    _door_layers.update(layers)
    _door_optimizers.update(optimizers)


def _door_for(name):
    """A file that names the Keras door's classes loads them (a lazy import, only for such files)."""
    if name.startswith("keras.") and name not in _door_layers and name not in _door_optimizers:
        import chainrule.keras  # noqa: F401 - registers the door's classes


def _layer_table():
    from chainrule import nn

    table = {}
    for name in NN_LAYERS:
        cls = getattr(nn, name, None)  # a layer family not built yet is simply not loadable
        if cls is not None:
            table[f"nn.{name}"] = cls
    for name in MODELS:
        table[name] = _models[name]
    table.update(_door_layers)
    return table


def name_of(cls, custom_objects=None):
    """The name under which ``cls`` is saved, or None when it is not registered."""
    for name, known in _layer_table().items():
        if known is cls:
            return name
    for name, known in (custom_objects or {}).items():
        if known is cls:
            return name
    return None


def layer_class(name, custom_objects=None, path="<file>"):
    """The class registered under ``name``; FormatError naming the file when there is none."""
    custom_objects = custom_objects or {}
    if name in custom_objects:
        return custom_objects[name]
    _door_for(name)
    table = _layer_table()
    if name in table:
        return table[name]
    known = ", ".join(sorted(table))
    raise FormatError(f"{path}: expected a registered layer class, got '{name}'; known: {known}; "
                      "hint: for your own layer classes pass load_model(path, custom_objects={'"
                      f"{name}': TheClass}}), or upgrade chainrule if the file comes from a newer one")


def optimizer_name(cls):
    """The name a compile section saves an optimiser class under, or None when it has none."""
    from chainrule import optim

    if cls.__name__ in OPTIMIZERS and getattr(optim, cls.__name__, None) is cls:
        return cls.__name__
    return next((name for name, known in _door_optimizers.items() if known is cls), None)


def optimizer_class(name, path="<file>"):
    """The optimiser class registered under ``name``; FormatError when there is none."""
    from chainrule import optim

    _door_for(name)
    table = {n: getattr(optim, n) for n in OPTIMIZERS if hasattr(optim, n)}
    table.update(_door_optimizers)
    if name in table:
        return table[name]
    raise FormatError(f"{path}: expected a registered optimiser, got '{name}'; known: "
                      f"{', '.join(sorted(table))}; hint: load with compile=False and compile in code")
