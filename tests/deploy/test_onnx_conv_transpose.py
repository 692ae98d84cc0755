"""cr.onnx.export of the PyTorch door's ConvTranspose2d: ONNX's ConvTranspose with the same stride,
padding, output_padding and dilation, alone and as an autoencoder's decoder."""

import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_check import images, run_both  # noqa: E402 - after the skips


@pytest.mark.parametrize("args, options, shape", [
    ((3, 4, 3), {}, (2, 3, 5, 6)),
    ((3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 5, 6)),
    ((3, 2, (3, 2)), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2)}, (2, 3, 4, 5)),
    ((2, 3, 3), {"stride": 2, "dilation": 2, "padding": 2, "output_padding": 1, "bias": False}, (2, 2, 4, 4)),
    ((2, 3, 4), {"stride": 3, "dilation": (1, 2)}, (2, 2, 4, 4)),
])
def test_conv_transpose2d_exports(args, options, shape, tmp_path):
    cr.manual_seed(8)
    layer = nn.ConvTranspose2d(*args, **options)
    proto = run_both(layer, images(shape) * 2 - 1, tmp_path)
    assert [n.op_type for n in proto.graph.node][0] == "ConvTranspose"


def test_a_convolutional_autoencoder_exports(tmp_path):
    cr.manual_seed(9)
    model = cr.Sequential([
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
    ])
    run_both(model, images((3, 1, 12, 12)), tmp_path)
