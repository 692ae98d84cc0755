"""cr.onnx.export: every exportable layer and every zoo network, run by onnxruntime, equals chainrule."""

import numpy
import pytest

import chainrule as cr
from chainrule import nn, zoo
from chainrule.errors import ChainruleError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx_check import images as _images  # noqa: E402 - after the skips
from onnx_check import run_both as _run_both  # noqa: E402

ZOO = ["mlp", "mlp_torch", "autoencoder", "deep_autoencoder", "lenet5", "char_rnn"]


@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_network_runs_the_same_in_onnxruntime(name, tmp_path):
    cr.manual_seed(0)
    entry = zoo.get(name)
    model = entry.build()
    if name == "char_rnn":
        sample = numpy.random.default_rng(1).integers(0, len(model.module.vocabulary), (3, 9))
    else:
        sample = _images((3, *(entry.input_shape or (784,))))
    proto = _run_both(model, sample, tmp_path)
    initializers = {i.name for i in proto.graph.initializer}
    assert set(k for k in model.state_dict() if "num_batches" not in k) & initializers  # named as saved


def test_parameters_keep_their_state_dict_names(tmp_path):
    model = zoo.get("lenet5").build()
    proto = _run_both(model, _images((2, 1, 28, 28)), tmp_path, batches=(2,))
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "3.weight", "3.bias"} <= names


@pytest.mark.parametrize("layer, shape", [
    (nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 11, 9)),
    (nn.Conv2d(3, 5, (3, 2), padding="same", dilation=(1, 2)), (2, 3, 7, 8)),
    (nn.Conv2d(3, 4, 3, padding="valid", bias=False), (2, 3, 6, 6)),
    (nn.Conv1d(4, 8, 3, stride=2, padding=2, dilation=2, groups=4), (2, 4, 13)),
    (nn.Conv1d(2, 3, 4, padding="same"), (2, 2, 10)),
    (nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 9)),
    (nn.MaxPool2d(2, dilation=2), (2, 1, 9, 9)),
    (nn.MaxPool1d(3, stride=2), (2, 3, 11)),
    (nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 8, 8)),
    (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 8, 8)),
    (nn.AvgPool1d(2), (2, 3, 10)),
    (nn.GlobalAvgPool2d(), (2, 3, 5, 4)),
    (nn.LayerNorm(6), (3, 4, 6)),
    (nn.LayerNorm((4, 6)), (3, 4, 6)),
    (nn.Flatten(), (3, 2, 4, 5)),
    (nn.Flatten(1, 2), (3, 2, 4, 5)),
    (nn.Reshape((5, 8)), (3, 4, 10)),
    (nn.Linear(6, 3), (3, 5, 6)),
    (nn.Dense(4, activation="tanh"), (3, 6)),
    (nn.Dense(4, activation="step", use_bias=False), (3, 6)),
    (nn.Dropout(0.5), (3, 6)),
    (nn.Identity(), (3, 6)),
    (nn.ReLU(), (3, 6)), (nn.Sigmoid(), (3, 6)), (nn.Tanh(), (3, 6)), (nn.LeakyReLU(0.2), (3, 6)),
    (nn.Softplus(), (3, 6)), (nn.Softplus(beta=2.0), (3, 6)), (nn.Step(), (3, 6)),
    (nn.Softmax(axis=1), (3, 4, 5)), (nn.LogSoftmax(), (3, 6)),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_each_layer_exports(layer, shape, tmp_path):
    cr.manual_seed(3)
    sample = (_images(shape) * 4 - 2).astype("float32")
    _run_both(layer, sample, tmp_path, batches=(1, 5))


@pytest.mark.parametrize("norm, shape", [(nn.BatchNorm1d(4), (5, 4)), (nn.BatchNorm1d(4), (5, 4, 7)),
                                         (nn.BatchNorm2d(3), (5, 3, 4, 4)),
                                         (nn.BatchNorm2d(3, affine=False), (5, 3, 4, 4))])
def test_batch_norm_exports_its_running_statistics(norm, shape, tmp_path):
    norm.train()
    for seed in range(3):  # running statistics away from 0 and 1
        norm(cr.tensor(_images(shape, seed) * 3 + 1))
    assert not numpy.allclose(norm.running_mean.data, 0)
    _run_both(norm, _images(shape, 9), tmp_path)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("options", [{}, {"batch_first": True, "num_layers": 2},
                                     {"bidirectional": True, "num_layers": 2}, {"bias": False}])
def test_recurrent_layers_export_with_onnx_gate_order(cls, options, tmp_path):
    """Output, h_n (and c_n) all match: gate orders, biases and layouts are right."""
    cr.manual_seed(4)
    layer = cls(5, 6, **options)
    shape = (3, 4, 5)  # (N, T, in) or (T, N, in): the batch is axis 0 only when batch_first
    sample = _images(shape) * 2 - 1
    if options.get("batch_first"):
        _run_both(layer, sample, tmp_path)
    else:  # time-major: the "batch" the exporter frees is T here; check at the sample's own size
        _run_both(layer, sample, tmp_path, batches=(3,))


def test_rnn_relu_exports(tmp_path):
    cr.manual_seed(5)
    _run_both(nn.RNN(3, 4, nonlinearity="relu", batch_first=True), _images((2, 5, 3)), tmp_path)


class _Custom(nn.Module):
    """A forward of its own: layers called twice, functional ops between them, the LSTM's h_n used."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 4)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        last = out[:, -1] + h[0] - out[:, 1:3][:, 0] * 0.5 + out[:, ::-2][:, 1]
        y = self.drop(nn.functional.relu(self.fc(last)))
        return nn.functional.log_softmax(self.fc(y) * 2.0 - c[0], axis=1)


def test_a_module_with_its_own_forward_exports(tmp_path):
    cr.manual_seed(6)
    _run_both(_Custom(), _images((3, 5, 3)), tmp_path)


class _TwoBranches(nn.Module):
    """A tree: two Sequential branches on one input, merged by concatenation, then a head."""

    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten())
        self.right = nn.Sequential(nn.Flatten(), nn.Dense(5, activation="sigmoid", input_dim=16))
        self.head = nn.Sequential(nn.Linear(2 * 16 + 5, 3), nn.LogSoftmax(axis=1))

    def forward(self, x):
        return self.head(cr.concatenate([self.left(x), self.right(x)], axis=1))


def test_a_tree_of_modules_exports(tmp_path):
    cr.manual_seed(7)
    _run_both(cr.Model(_TwoBranches()), _images((3, 1, 4, 4)), tmp_path)


def test_a_layer_without_onnx_form_is_named(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return x * x

    model = cr.Sequential([nn.Linear(3, 3), Odd()])
    with pytest.raises(ChainruleError, match=r"layer '1' \(Odd\)"):
        cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)))
    assert not (tmp_path / "m.onnx").exists()


def test_an_op_without_onnx_form_is_named(tmp_path):
    class Cumulative(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return cr.cumsum(self.fc(x), axis=1)

    with pytest.raises(ChainruleError, match="cumsum"):
        cr.onnx.export(Cumulative(), tmp_path / "m.onnx", _images((2, 3)))


def test_batch_norm_without_running_statistics_is_refused(tmp_path):
    norm = nn.BatchNorm1d(3, track_running_stats=False)
    with pytest.raises(ChainruleError, match=r"layer 'the model' \(BatchNorm1d\).*track_running_stats"):
        cr.onnx.export(norm, tmp_path / "m.onnx", _images((4, 3)))


def test_opset_and_batch_options(tmp_path):
    model = cr.Sequential([nn.Linear(3, 2)])
    with pytest.raises(ChainruleError, match="opset 11"):
        cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)), opset=11)
    path = cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)), dynamic_batch=False)
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3]
    path = cr.onnx.export(model, tmp_path / "m.onnx", _images((2, 3)))
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"


def _lenet_and_digits():
    cr.manual_seed(0)
    return zoo.get("lenet5").build(), cr.tensor(_images((2, 1, 28, 28)))


def _run(path, feed_name, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {feed_name: x})


def test_pytorchs_call_runs_as_it_is(tmp_path):
    """A tutorial's torch.onnx.export(model, (x,), f, names, opset_version, dynamic_axes), imports changed."""
    model, dummy = _lenet_and_digits()
    path = tmp_path / "lenet.onnx"
    cr.onnx.export(model, (dummy,), str(path), export_params=True, opset_version=17, do_constant_folding=True,
                   input_names=["image"], output_names=["logits"],
                   dynamic_axes={"image": {0: "batch_size"}, "logits": {0: "batch_size"}})
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["image"] and [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch_size"
    x = _images((5, 1, 28, 28), seed=3)
    (got,) = _run(path, "image", x)
    with cr.no_grad():
        model.eval()
        numpy.testing.assert_allclose(got, model(cr.tensor(x)).numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("call", ["positional", "keywords", "bare sample"])
def test_pytorchs_orders_give_the_same_file_as_ours(tmp_path, call):
    model, dummy = _lenet_and_digits()
    ours = cr.onnx.export(model, tmp_path / "ours.onnx", dummy)
    theirs = tmp_path / "theirs.onnx"
    if call == "positional":
        cr.onnx.export(model, (dummy,), theirs)
    elif call == "keywords":
        cr.onnx.export(model, args=(dummy,), f=theirs)
    else:
        cr.onnx.export(model, dummy, theirs)
    assert theirs.read_bytes() == ours.read_bytes()


def test_pytorchs_options_that_cannot_be_kept_say_so(tmp_path):
    model, dummy = _lenet_and_digits()
    path = tmp_path / "m.onnx"
    with pytest.raises(ChainruleError, match=r"only the batch axis \(0\)"):
        cr.onnx.export(model, (dummy,), path, input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h"}})
    with pytest.raises(ChainruleError, match="one input"):
        cr.onnx.export(model, (dummy, dummy), path)
    with pytest.raises(ChainruleError, match="export_params=False"):
        cr.onnx.export(model, (dummy,), path, export_params=False)
    with pytest.raises(ChainruleError, match="output_names has 2 names"):
        cr.onnx.export(model, (dummy,), path, output_names=["a", "b"])
    with pytest.raises(ChainruleError, match="'image' is taken"):
        cr.onnx.export(model, (dummy,), path, input_names=["image"], output_names=["image"])
    with pytest.raises(ChainruleError, match="where to write"):
        cr.onnx.export(model, (dummy,))
    with pytest.raises(ChainruleError, match="given twice"):
        cr.onnx.export(model, path, dummy, f=path)
    assert not path.exists()  # nothing half-written


def test_dynamic_axes_given_as_lists_name_the_batch_batch(tmp_path):
    model, dummy = _lenet_and_digits()
    path = cr.onnx.export(model, (dummy,), tmp_path / "m.onnx", input_names=["input"],
                          dynamic_axes={"input": [0], "output": [0]})
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert _run(path, "input", _images((3, 1, 28, 28)))[0].shape == (3, 10)
