"""The closed registry: every layer of chainrule.nn saves and loads to identical outputs."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import registry

pytest.importorskip("safetensors")
nn = cr.nn

def _encoder_layer():
    return nn.TransformerEncoderLayer(8, 2, 16, norm_first=True)


# one example per registered layer class: (constructor, input shape, input dtype)
EXAMPLES = {
    "Linear": (lambda: nn.Linear(4, 3), (2, 4), "float32"),
    "Dense": (lambda: nn.Dense(3, activation="tanh"), (2, 4), "float32"),
    "Identity": (lambda: nn.Identity(), (2, 3), "float32"),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 4), "float32"),
    "Reshape": (lambda: nn.Reshape((12,)), (2, 3, 4), "float32"),
    "Dropout": (lambda: nn.Dropout(0.3), (2, 3), "float32"),
    "ReLU": (lambda: nn.ReLU(), (2, 3), "float32"),
    "Sigmoid": (lambda: nn.Sigmoid(), (2, 3), "float32"),
    "Tanh": (lambda: nn.Tanh(), (2, 3), "float32"),
    "Step": (lambda: nn.Step(), (2, 3), "float32"),
    "Heaviside": (lambda: nn.Heaviside(), (2, 3), "float32"),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), (2, 3), "float32"),
    "Softplus": (lambda: nn.Softplus(), (2, 3), "float32"),
    "Softmax": (lambda: nn.Softmax(), (2, 3), "float32"),
    "LogSoftmax": (lambda: nn.LogSoftmax(), (2, 3), "float32"),
    "Sequential": (lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (2, 4), "float32"),
    "ModuleList": None,  # has no forward: saved inside containers' owners only
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3), (2, 2, 7), "float32"),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5), "float32"),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), (2, 2, 4), "float32"),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (2, 2, 4, 4), "float32"),
    "AvgPool1d": (lambda: nn.AvgPool1d(2), (2, 2, 4), "float32"),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), (2, 2, 4, 4), "float32"),
    "GlobalAvgPool2d": (lambda: nn.GlobalAvgPool2d(), (2, 2, 4, 4), "float32"),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), (3, 4), "float32"),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), (3, 2, 4, 4), "float32"),
    "SyncBatchNorm": (lambda: nn.SyncBatchNorm(2), (3, 2, 4), "float32"),  # one process: a BatchNorm
    "LayerNorm": (lambda: nn.LayerNorm(4), (3, 4), "float32"),
    "Embedding": (lambda: nn.Embedding(10, 3), (2, 5), "int64"),
    "RNN": (lambda: nn.RNN(3, 4), (2, 5, 3), "float32"),
    "LSTM": (lambda: nn.LSTM(3, 4), (2, 5, 3), "float32"),
    "GRU": (lambda: nn.GRU(3, 4), (2, 5, 3), "float32"),
    "RNNCell": (lambda: nn.RNNCell(3, 4), (2, 3), "float32"),
    "LSTMCell": (lambda: nn.LSTMCell(3, 4), (2, 3), "float32"),
    "GRUCell": (lambda: nn.GRUCell(3, 4), (2, 3), "float32"),
    "Dropout2d": (lambda: nn.Dropout2d(0.3), (2, 3, 2, 2), "float32"),
    "ELU": (lambda: nn.ELU(0.5), (2, 3), "float32"),
    "SELU": (lambda: nn.SELU(), (2, 3), "float32"),
    "GELU": (lambda: nn.GELU(approximate="tanh"), (2, 3), "float32"),
    "SiLU": (lambda: nn.SiLU(), (2, 3), "float32"),
    "PReLU": (lambda: nn.PReLU(2, init=0.1), (2, 2, 3), "float32"),
    "Hardtanh": (lambda: nn.Hardtanh(-0.5, 0.5), (2, 3), "float32"),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1), (2, 2, 4, 4),
                        "float32"),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 2, 5, 5), "float32"),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), (2, 2, 3, 3), "float32"),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (3, 4, 2, 2), "float32"),
    "ReLU6": (lambda: nn.ReLU6(), (2, 3), "float32"),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), (2, 3), "float32"),
    "Hardswish": (lambda: nn.Hardswish(), (2, 3), "float32"),
    "LogSigmoid": (lambda: nn.LogSigmoid(), (2, 3), "float32"),
    "Softsign": (lambda: nn.Softsign(), (2, 3), "float32"),
    "Mish": (lambda: nn.Mish(), (2, 3), "float32"),
    "Tanhshrink": (lambda: nn.Tanhshrink(), (2, 3), "float32"),
    "CELU": (lambda: nn.CELU(0.5), (2, 3), "float32"),
    "GLU": (lambda: nn.GLU(dim=1), (2, 4), "float32"),
    "Softmin": (lambda: nn.Softmin(dim=1), (2, 3), "float32"),
    "Softshrink": (lambda: nn.Softshrink(0.3), (2, 3), "float32"),
    "Hardshrink": (lambda: nn.Hardshrink(0.3), (2, 3), "float32"),
    "Threshold": (lambda: nn.Threshold(0.1, 20.0), (2, 3), "float32"),
    "CosineSimilarity": None,  # two inputs: saved inside the models that call them
    "PairwiseDistance": None,
    "PixelShuffle": (lambda: nn.PixelShuffle(2), (2, 8, 2, 3), "float32"),
    "MultiheadAttention": None,  # three inputs and a pair out: saved inside the models that call it
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), (2, 3, 8),
                                "float32"),
    "TransformerEncoder": (lambda: nn.TransformerEncoder(_encoder_layer(), 2, norm=nn.LayerNorm(8)),
                           (3, 2, 8), "float32"),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 3)), (2, 6), "float32"),
    "ZeroPad2d": (lambda: nn.ZeroPad2d((1, 0, 2, 1)), (2, 1, 3, 3), "float32"),
    "ConstantPad1d": (lambda: nn.ConstantPad1d(2, 0.5), (2, 3), "float32"),
    "ConstantPad2d": (lambda: nn.ConstantPad2d(1, -1.0), (2, 1, 3, 3), "float32"),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d((2, 3)), (2, 2, 5, 5), "float32"),
    "AdaptiveAvgPool1d": (lambda: nn.AdaptiveAvgPool1d(3), (2, 2, 7), "float32"),
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(2), (3, 2, 5), "float32"),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(2, affine=True), (3, 2, 4, 4), "float32"),
    "Dropout1d": (lambda: nn.Dropout1d(0.3), (2, 3, 4), "float32"),
    "Softmax2d": (lambda: nn.Softmax2d(), (2, 3, 2, 2), "float32"),
    "ParameterList": None,  # no forward: saved inside the modules that hold them
    "ParameterDict": None,
    "TransformerDecoderLayer": None,  # two inputs (the target and the encoder's memory)
    "TransformerDecoder": None,
    "Transformer": None,
}


def _flat(output):
    if isinstance(output, (tuple, list)):
        return [a for item in output for a in _flat(item)]
    return [np.asarray(output)]


@pytest.mark.parametrize("name", [n for n in registry.NN_LAYERS if EXAMPLES.get(n)])
def test_every_registered_layer_round_trips(name, tmp_path):
    if not hasattr(nn, name):
        pytest.skip(f"nn.{name} is not built yet")
    make, shape, dtype = EXAMPLES[name]
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, shape) if dtype == "int64" else rng.normal(size=shape).astype(dtype)
    model = cr.Model(make())
    model.train()
    model(cr.Tensor(x))  # builds lazy layers; moves BatchNorm's running statistics off their start
    path = tmp_path / f"{name}.chainrule"
    model.save(path)
    cr.manual_seed(1)  # the loaded layer must not depend on the random state
    same = cr.load_model(path)
    assert type(same.module) is type(model.module)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(same.state_dict()[key], value, err_msg=key)
    for a, b in zip(_flat(model.predict(x)), _flat(same.predict(x))):
        np.testing.assert_array_equal(a, b)


def test_registry_names_exist_and_cover_the_layers_of_nn():
    exported = {n for n, obj in vars(nn).items()
                if inspect.isclass(obj) and issubclass(obj, nn.Module) and obj is not nn.Module}
    not_layers = {n for n in exported if n.endswith("Loss") or n.endswith("Crossentropy")} | {"ModuleDict"}
    missing = exported - not_layers - set(registry.NN_LAYERS)
    assert not missing, f"add these layers to chainrule/io/registry.py: {sorted(missing)}"
    assert set(EXAMPLES) == set(registry.NN_LAYERS)


def test_unregistered_class_is_refused_and_custom_objects_are_opt_in(tmp_path):
    class Scale(nn.Module):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    with pytest.raises(cr.ChainruleError, match="not a registered layer class"):
        cr.Model(Scale()).save(tmp_path / "scale.chainrule")
    cr.io.save_model(cr.Model(Scale(3.0)), tmp_path / "scale.chainrule", custom_objects={"Scale": Scale})
    with pytest.raises(cr.FormatError, match="got 'Scale'"):
        cr.load_model(tmp_path / "scale.chainrule")
    same = cr.load_model(tmp_path / "scale.chainrule", custom_objects={"Scale": Scale})
    assert same.module.factor == 3.0
