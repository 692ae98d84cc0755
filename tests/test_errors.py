"""Unknown names anywhere in the library raise one chainrule error that lists the known ones."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError


@pytest.mark.parametrize("lookup, name, known", [
    (cr.optim.get, "adamx", "rmsprop"),
    (cr.nn.losses.get, "categorical_crossentropyy", "sparse_categorical_crossentropy"),
    (cr.nn.init.get, "glorot", "glorot_uniform"),
])
def test_unknown_names_raise_config_error_listing_known_ones(lookup, name, known):
    with pytest.raises(ConfigError, match=known) as caught:
        lookup(name)
    assert isinstance(caught.value, ValueError) and name in str(caught.value)


def test_compile_with_an_unknown_optimizer_leaves_the_model_usable():
    model = cr.Sequential([cr.nn.Dense(2, input_shape=(3,))])
    with pytest.raises(ConfigError, match="adam"):
        model.compile(loss="mse", optimizer="adamm")
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0)
