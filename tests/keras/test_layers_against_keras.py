"""More of ``keras.layers`` against Keras 3 itself (on its PyTorch backend, the oracle CI installs):
each layer built both ways, Keras's weights copied over with ``set_weights``, outputs compared."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras oracle runs on its PyTorch backend", allow_module_level=True)

import chainrule as cr  # noqa: E402
from chainrule import keras as ours  # noqa: E402

# Keras's own PyTorch backend warns about torch's and NumPy's deprecations: its to mend, not ours
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:keras"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")]
RNG = np.random.default_rng(0)


def _numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, cr.Tensor) else value.numpy()


def _agree(mine, theirs, what):
    np.testing.assert_allclose(_numpy(mine), _numpy(theirs), rtol=2e-5, atol=2e-6, err_msg=what)


@pytest.mark.parametrize("mask", ["none", "padding", "causal"])
def test_multi_head_attention_matches_keras(mask):
    query = RNG.standard_normal((2, 4, 6)).astype(np.float32)
    value = RNG.standard_normal((2, 5, 6)).astype(np.float32)
    key = RNG.standard_normal((2, 5, 6)).astype(np.float32)
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    mine = ours.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    kwargs = {}
    if mask == "padding":
        kwargs["attention_mask"] = np.broadcast_to(np.array([1, 1, 1, 0, 0], bool), (2, 4, 5)).copy()
    if mask == "causal":
        kwargs["use_causal_mask"] = True
        key, value = key[:, :4], value[:, :4]
    out, scores = theirs(query, value, key, return_attention_scores=True, **kwargs)
    mine(query, value, key, **kwargs)  # builds the weights
    mine.set_weights(theirs.get_weights())
    my_out, my_scores = mine(query, value, key, return_attention_scores=True, **kwargs)
    _agree(my_out, out, "output")
    _agree(my_scores, scores, "attention scores")
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in theirs.get_weights()]


def test_self_attention_block_trains():
    """A Keras transformer block (attention, residual, LayerNormalization, Dense) learns: its loss falls."""
    cr.manual_seed(0)
    inputs = ours.Input(shape=(5, 4))
    attended = ours.layers.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    hidden = ours.layers.LayerNormalization()(ours.layers.Add()([inputs, attended]))
    outputs = ours.layers.Dense(1)(ours.layers.GlobalAveragePooling1D()(hidden))
    model = ours.Model(inputs, outputs)
    model.compile(optimizer=ours.optimizers.Adam(0.01), loss="mse")
    x = RNG.standard_normal((128, 5, 4)).astype(np.float32)
    y = x.max(axis=(1, 2))[:, None]
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]


def test_normalization_adapts_as_keras():
    data = RNG.standard_normal((50, 3)).astype(np.float32) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    theirs, mine = keras.layers.Normalization(), ours.layers.Normalization()
    theirs.adapt(data)
    mine.adapt(data)
    sample = data[:4]
    _agree(mine(sample), theirs(sample), "normalised")
    for a, b in zip(mine.get_weights()[:2], theirs.get_weights()[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    given = keras.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    _agree(ours.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)(sample[:, :2]),
           given(sample[:, :2]), "inverted")


LAYERS = {
    "RepeatVector": (lambda k: k.layers.RepeatVector(3), (2, 4)),
    "Permute": (lambda k: k.layers.Permute((2, 1)), (2, 3, 4)),
    "Identity": (lambda k: k.layers.Identity(), (2, 3)),
    "Cropping2D": (lambda k: k.layers.Cropping2D(((1, 0), (0, 2))), (2, 5, 6, 3)),
    "UnitNormalization": (lambda k: k.layers.UnitNormalization(), (2, 3, 4)),
    "ELU": (lambda k: k.layers.ELU(0.5), (2, 3)),
    "PReLU": (lambda k: k.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25)
                                       if k is keras else "zeros", shared_axes=[1]), (2, 3, 4)),
    "GaussianNoise": (lambda k: k.layers.GaussianNoise(0.5), (2, 3)),  # off outside training
    "SpatialDropout1D": (lambda k: k.layers.SpatialDropout1D(0.5), (2, 3, 4)),
    "TimeDistributed": (lambda k: k.layers.TimeDistributed(k.layers.Dense(2)), (2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_keras(name):
    make, shape = LAYERS[name]
    x = RNG.standard_normal(shape).astype(np.float32)
    theirs, mine = make(keras), make(ours)
    expected = theirs(x)  # Keras: inference unless told otherwise
    mine(x, training=False)
    mine.set_weights(theirs.get_weights())
    _agree(mine(x, training=False), expected, name)


def test_noise_and_spatial_dropout_act_only_in_training():
    x = cr.ones((64, 5, 8))
    noisy = ours.layers.GaussianNoise(0.5)(x, training=True).numpy()
    assert abs(noisy.std() - 0.5) < 0.05
    dropped = ours.layers.SpatialDropout1D(0.5)(x, training=True).numpy()
    assert np.all(dropped.std(axis=1) == 0)  # a channel is dropped at every step or at none
    assert set(np.unique(dropped)) <= {0.0, 2.0}


def test_a_layer_called_on_its_own_infers_as_in_keras():
    """Keras runs a layer called outside fit (and without training=True) in inference mode."""
    x = (RNG.standard_normal((4, 6)) * 3 + 2).astype(np.float32)
    for make in (lambda k: k.layers.Dropout(0.5), lambda k: k.layers.BatchNormalization(),
                 lambda k: k.layers.GaussianNoise(1.0)):
        theirs, mine = make(keras), make(ours)
        _agree(mine(x), theirs(x), type(mine).__name__)
    mine = ours.layers.BatchNormalization()
    theirs = keras.layers.BatchNormalization()
    _agree(mine(x, training=True), theirs(x, training=True), "BatchNormalization, training=True")
    _agree(mine(x), theirs(x), "BatchNormalization after one training call")
