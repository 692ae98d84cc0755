"""cr.onnx.export of chainrule.keras models: every layer, Sequential and functional, equals chainrule in
onnxruntime at batch sizes 1 and 7."""

import runpy
import warnings
from pathlib import Path

import numpy
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.autograd.tensor import mark_changed
from chainrule.errors import ChainruleError
from chainrule.keras import layers
from chainrule.nn.modes import evaluating

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx_check import images as _images  # noqa: E402 - after the skips
from onnx_check import run_both as _run_both  # noqa: E402


def _randomised(model, sample, seed=0):
    """Built on ``sample``, then random weights, biases and moving statistics, so that a wrong layout,
    gate order or bias shows (the defaults, zero biases and statistics 0 and 1, would hide some)."""
    with cr.no_grad():
        model(cr.tensor(sample[:1]))
    rng = numpy.random.default_rng(seed)
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor is not None and tensor.dtype.kind == "f":
            values = rng.uniform(0.2, 1.0, tensor.shape)
            tensor._data[...] = values + 0.3 if "moving_variance" in name else values * rng.choice([-1, 1],
                                                                                                   tensor.shape)
            mark_changed(tensor)
    return model


def _sequential(shape, *stack, sample=None):
    sample = _images((1, *shape)) if sample is None else sample
    return _randomised(keras.Sequential([keras.Input(shape=shape), *stack]), sample)


IMAGE, SEQUENCE = (9, 8, 3), (5, 4)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

LAYERS = [
    (IMAGE, [layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")]),
    (IMAGE, [layers.Conv2D(4, (3, 2), dilation_rate=2, use_bias=False)]),
    (IMAGE, [layers.Conv2D(6, 3, groups=3, padding="same")]),
    (SEQUENCE, [layers.Conv1D(4, 3, strides=2, padding="same", activation="tanh")]),
    (IMAGE, [layers.Conv2DTranspose(4, 3, strides=2, padding="same")]),
    (IMAGE, [layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="sigmoid")]),
    (IMAGE, [layers.Conv2DTranspose(2, (3, 2), strides=(2, 3), dilation_rate=1)]),
    (IMAGE, [layers.MaxPooling2D(2, padding="same")]),
    (IMAGE, [layers.MaxPooling2D(3, strides=2)]),
    (IMAGE, [layers.AveragePooling2D(2)]),
    (IMAGE, [layers.AveragePooling2D(3, strides=2, padding="same")]),
    (IMAGE, [layers.Conv2DTranspose(3, 1, strides=2, padding="same")]),
    (IMAGE, [layers.GlobalAveragePooling2D()]),
    (IMAGE, [layers.GlobalMaxPooling2D(keepdims=True)]),
    (SEQUENCE, [layers.GlobalAveragePooling1D()]),
    (SEQUENCE, [layers.GlobalMaxPooling1D()]),
    (IMAGE, [layers.BatchNormalization()]),
    (SEQUENCE, [layers.BatchNormalization(center=False, scale=False)]),
    (IMAGE, [layers.Flatten(), layers.Dropout(0.5), layers.Dense(5, activation="softmax")]),
    (IMAGE, [layers.Reshape((-1, 3)), layers.Activation("relu"), layers.Activation("linear")]),
    (SEQUENCE, [layers.Dense(3, activation="log_softmax")]),
]


@pytest.mark.parametrize("shape, stack", LAYERS, ids=lambda v: "-".join(type(x).__name__ for x in v)
                         if isinstance(v, list) else None)
def test_each_keras_layer_exports(shape, stack, tmp_path):
    sample = _images((3, *shape)) * 2 - 1
    _run_both(_sequential(shape, *stack), sample, tmp_path)


def test_flatten_after_conv_keeps_the_channels_last_order(tmp_path):
    """A Dense after Flatten reads (h, w, c) order: a channels-first flatten would give other numbers."""
    model = _sequential(IMAGE, layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3))
    proto = _run_both(model, _images((3, *IMAGE)), tmp_path)
    assert [n.op_type for n in proto.graph.node].count("Transpose") == 2  # around the Conv only


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"go_backwards": True},
                                     {"go_backwards": True, "return_sequences": True},
                                     {"return_state": True}, {"use_bias": False}])
def test_keras_recurrent_layers_export(cls, options, tmp_path):
    _run_both(_sequential(SEQUENCE, cls(3, **options)), _images((3, *SEQUENCE)) * 2 - 1, tmp_path)


def test_simple_rnn_relu_after_an_embedding_exports(tmp_path):
    sample = numpy.random.default_rng(1).integers(0, 10, (3, 6))
    rnn = layers.SimpleRNN(3, activation="relu", return_sequences=True)
    model = _sequential((6,), layers.Embedding(10, 4), rnn, sample=sample)
    _run_both(model, sample, tmp_path)


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
@pytest.mark.parametrize("merge_mode, sequences", [("concat", True), ("sum", False), ("mul", True),
                                                   ("ave", False)])
def test_bidirectional_exports(cls, merge_mode, sequences, tmp_path):
    model = _sequential(SEQUENCE, layers.Bidirectional(cls(3, return_sequences=sequences), merge_mode))
    proto = _run_both(model, _images((3, *SEQUENCE)) * 2 - 1, tmp_path)
    recurrent = [n for n in proto.graph.node if n.op_type in ("RNN", "LSTM", "GRU")]
    assert len(recurrent) == 1  # one ONNX node runs both directions
    assert {a.name: a.s for a in recurrent[0].attribute}["direction"] == b"bidirectional"


def test_a_two_branch_functional_model_exports(tmp_path):
    inputs = keras.Input(shape=IMAGE)
    left = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    right = layers.Conv2D(4, 1)(inputs)
    merged = layers.Concatenate()([layers.Add()([left, right]), right])
    pooled = layers.MaxPooling2D()(layers.BatchNormalization()(merged))
    outputs = layers.Dense(3, activation="tanh")(layers.Flatten()(pooled))  # softmax would hide a shift
    sample = _images((3, *IMAGE))
    _run_both(_randomised(keras.Model(inputs, outputs), sample), sample, tmp_path)


def test_a_functional_sequence_model_exports(tmp_path):
    inputs = keras.Input(shape=(6,), dtype="int64")
    vectors = layers.Embedding(12, 5)(inputs)
    features = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(vectors)
    last = layers.GRU(3)(layers.Conv1D(4, 2, padding="same")(features))
    sample = numpy.random.default_rng(2).integers(0, 12, (3, 6))
    _run_both(_randomised(keras.Model(inputs, layers.Dense(2)(last)), sample), sample, tmp_path)


def test_the_lectures_keras_mlp_exports(tmp_path):
    model = keras.Sequential()
    model.add(layers.Dense(512, activation="relu", input_shape=(784,)))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(10, activation="softmax"))
    _run_both(model, _images((3, 784)), tmp_path)


def test_keras_ios_mnist_convnet_exports(tmp_path, monkeypatch):
    """examples/mnist_convnet_keras.py itself (keras.io's listing, one quick epoch); then its saved file
    the way ``chainrule export`` does it (a sample batch from the model's input spec)."""
    from chainrule.onnx.exporter import export_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHAINRULE_EXAMPLE_QUICK", "1")
    monkeypatch.setenv("CHAINRULE_OFFLINE", "1")  # load_data must not download in a test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the embedded subset of 5,000 real digits"
        listing = runpy.run_path(str(EXAMPLES / "mnist_convnet_keras.py"))
    x_test = listing["x_test"]
    _run_both(listing["model"], x_test[:3], tmp_path)
    saved = keras.models.load_model(tmp_path / "convnet.keras")
    path = export_file(saved, tmp_path / "saved.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with evaluating(saved), cr.no_grad():
        want = saved(cr.tensor(x_test[:7])).numpy()
    numpy.testing.assert_allclose(session.run(None, {"input": x_test[:7]})[0], want, atol=1e-5, rtol=1e-5)


def test_a_keras_layer_without_onnx_form_is_named(tmp_path):
    class Square(layers.Layer):
        def call(self, inputs):
            return inputs * inputs

    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(3), Square(name="square")])
    with pytest.raises(ChainruleError, match=r"layer '1' \(Square\) has no ONNX translation"):
        cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)))
    assert not (tmp_path / "m.onnx").exists()


def test_a_bidirectional_with_states_is_refused_by_name(tmp_path):
    model = keras.Sequential([keras.Input(shape=SEQUENCE),
                              layers.Bidirectional(layers.GRU(3, return_state=True))])
    with pytest.raises(ChainruleError, match=r"\(Bidirectional\).*return_state"):
        cr.onnx.export(model, tmp_path / "m.onnx", _images((2, *SEQUENCE)))


def test_an_activation_function_without_onnx_form_is_named(tmp_path):
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(3, activation=cr.cumsum, name="odd")])
    with pytest.raises(ChainruleError, match=r"layer '0' \(Dense\) uses the activation function"):
        cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)))


class _Subclassed(keras.Model):
    """Keras's third way: a ``call`` of its own, with arithmetic between the layers."""

    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(3, 3, padding="same")
        self.pool = layers.GlobalAveragePooling2D()
        self.dense = layers.Dense(2)

    def call(self, inputs):
        features = self.pool(self.conv(inputs) * 2.0 + inputs[..., :1])
        return self.dense(features) - features[:, :2]


def test_a_subclassed_keras_model_exports(tmp_path):
    sample = _images((3, *IMAGE))
    _run_both(_randomised(_Subclassed(), sample), sample, tmp_path)
