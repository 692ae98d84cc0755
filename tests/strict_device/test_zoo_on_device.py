"""The zoo's smoke tests with each model moved to the device as it is built."""

import importlib

import numpy as np
import pytest
from device_under_test import DeviceArray, xp

import chainrule as cr
from chainrule import gpu, zoo
from chainrule.nn import Module

# zoo name -> (its module, the builder its smoke test calls). The Dense models (mlp, autoencoders) run
# the layers and the loop that test_fit_on_device covers, and are left out to keep the suite fast.
BUILDERS = {"lenet5": ("lenet", "build"), "char_rnn": ("char_rnn", "build"), "gan": ("gan", "build"),
            "xor": ("xor", "build")}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_smoke_test_learns_on_the_device(name, monkeypatch):
    module_name, builder = BUILDERS[name]
    module = importlib.import_module(f"chainrule.zoo.{module_name}")
    built = []

    def on_device(*args, **kwargs):
        models = getattr(module, f"_host_{builder}")(*args, **kwargs)
        for model in models if isinstance(models, tuple) else (models,):
            if isinstance(model, Module):
                built.append(model.to("cuda"))
        return models

    monkeypatch.setattr(module, f"_host_{builder}", getattr(module, builder), raising=False)
    monkeypatch.setattr(module, builder, on_device)
    before, after = zoo.get(name).smoke_test()
    assert built and all(isinstance(p._data, DeviceArray) for m in built for p in m.parameters())
    assert np.isfinite(after) and after < before


def test_char_rnn_samples_text_from_a_device_model():
    from chainrule.zoo import char_rnn

    net = gpu.move_module(char_rnn.build("abc ", embedding_dim=4, hidden_size=8), xp)
    text = char_rnn.sample(net, length=12, prime="ab", seed=0)
    assert len(text) == 12 and set(text) <= set("abc ")
    assert "strict_array" not in repr(cr.Tensor(xp.ones(2))) and "1." in repr(cr.Tensor(xp.ones(2)))
