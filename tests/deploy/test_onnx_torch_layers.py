"""cr.onnx.export of the PyTorch door's further layers: the smooth activations, Hardtanh, PReLU,
Upsample (nearest), AdaptiveAvgPool2d and GroupNorm, each checked in onnxruntime beside chainrule."""

import numpy
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_check import images, run_both  # noqa: E402 - after the skips


def ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("layer, op", [
    (lambda: nn.ELU(), "Elu"), (lambda: nn.ELU(alpha=0.3), "Elu"), (lambda: nn.SELU(), "Selu"),
    (lambda: nn.GELU(), "Erf"), (lambda: nn.GELU(approximate="tanh"), "Tanh"), (lambda: nn.SiLU(), "Sigmoid"),
    (lambda: nn.Hardtanh(), "Clip"), (lambda: nn.Hardtanh(-0.5, 2.0), "Clip"),
])
def test_activations_export(layer, op, tmp_path):
    model = cr.Sequential([nn.Linear(5, 6), layer()])
    cr.manual_seed(1)
    proto = run_both(model, (images((3, 5)) * 8 - 4), tmp_path)
    assert op in ops(proto)


@pytest.mark.parametrize("num_parameters, shape", [(1, (2, 3, 4, 4)), (3, (2, 3, 4, 4)), (3, (2, 3, 5)),
                                                   (6, (2, 6))])
def test_prelu_exports_with_one_slope_or_one_per_channel(num_parameters, shape, tmp_path):
    layer = nn.PReLU(num_parameters)
    layer.weight._data[...] = numpy.random.default_rng(2).random(num_parameters).astype("float32")
    proto = run_both(layer, images(shape) * 2 - 1, tmp_path)
    assert ops(proto)[0] == "PRelu"


@pytest.mark.parametrize("options, shape", [
    ({"scale_factor": 2}, (2, 3, 4, 5)), ({"scale_factor": (3, 2)}, (2, 2, 3, 4)),
    ({"size": (8, 10)}, (2, 2, 4, 5)), ({"size": (7, 5)}, (2, 2, 3, 4)),
    ({"scale_factor": (1.5, 2.5)}, (2, 2, 4, 6)),
])
def test_upsample_nearest_exports_as_resize(options, shape, tmp_path):
    proto = run_both(nn.Upsample(**options), images(shape), tmp_path)
    assert "Resize" in ops(proto)


@pytest.mark.parametrize("size, shape, op", [
    (1, (2, 3, 5, 7), "GlobalAveragePool"), ((1, 1), (2, 3, 4, 4), "GlobalAveragePool"),
    (2, (2, 3, 6, 4), "AveragePool"), ((3, 2), (2, 3, 6, 8), "AveragePool"),
])
def test_adaptive_avg_pool2d_exports(size, shape, op, tmp_path):
    proto = run_both(nn.AdaptiveAvgPool2d(size), images(shape), tmp_path)
    assert ops(proto)[0] == op


def test_adaptive_avg_pool2d_with_unequal_windows_is_refused_by_name(tmp_path):
    model = cr.Sequential([nn.AdaptiveAvgPool2d((2, 3))])
    with pytest.raises(ChainruleError, match="AdaptiveAvgPool2d.*divides"):
        cr.onnx.export(model, tmp_path / "model.onnx", images((2, 3, 5, 7)))


@pytest.mark.parametrize("groups, channels, shape, affine", [
    (2, 4, (3, 4, 5, 6), True), (1, 3, (3, 3, 4, 4), True), (3, 3, (3, 3, 7), True),
    (2, 4, (3, 4, 3, 3), False),
])
def test_group_norm_exports_composed_at_opset_17(groups, channels, shape, affine, tmp_path):
    layer = nn.GroupNorm(groups, channels, affine=affine)
    if affine:
        rng = numpy.random.default_rng(3)
        layer.weight._data[...] = rng.random(channels).astype("float32") + 0.5
        layer.bias._data[...] = rng.random(channels).astype("float32") - 0.5
    proto = run_both(layer, images(shape) * 4 - 1, tmp_path)
    assert "ReduceMean" in ops(proto) and proto.opset_import[0].version == 17


def test_a_small_convnet_of_these_layers_exports(tmp_path):
    cr.manual_seed(4)
    model = cr.Sequential([
        nn.Conv2d(2, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.SiLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(4, 4, 3, padding=1), nn.PReLU(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3), nn.GELU(),
    ])
    run_both(model, images((2, 2, 4, 4)), tmp_path)


def test_group_norm_exports_at_opset_18_where_reduce_mean_takes_axes_as_input(tmp_path):
    import onnxruntime as ort

    layer = nn.GroupNorm(2, 4)
    x = images((3, 4, 3, 3)) * 4 - 1
    path = cr.onnx.export(layer, tmp_path / "model.onnx", x, opset=18)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    with cr.no_grad():
        want = layer(cr.tensor(x)).data
    numpy.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_in_place_activations_export_as_their_ops_and_stay_in_place_after(tmp_path):
    # an inplace=True layer returns its own input object: the trace must still see it as a layer
    cr.manual_seed(5)
    model = nn.Sequential(nn.Linear(5, 6), nn.ReLU(inplace=True), nn.Linear(6, 4), nn.ELU(inplace=True),
                          nn.Linear(4, 3), nn.Hardtanh(inplace=True))
    proto = run_both(model, images((3, 5)) * 8 - 4, tmp_path)
    assert {"Relu", "Elu", "Clip"} <= set(ops(proto))
    assert all(layer.inplace for layer in (model[1], model[3], model[5]))
