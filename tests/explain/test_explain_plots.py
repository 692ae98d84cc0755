"""The pictures of cr.plots for explaining: what each computes, and what lands in the PNG."""

import itertools

import numpy
import pytest

import chainrule as cr
from chainrule import nn, plots

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def _pixels(path):
    return numpy.asarray(Image.open(path).convert("RGB"), dtype=numpy.int64)


def _colourful(pixels):
    """The fraction of pixels that are not gray (their channels differ)."""
    return float(numpy.mean(pixels.max(axis=2) - pixels.min(axis=2) > 40))


def test_saliency_heat_is_the_normalised_absolute_map():
    image = numpy.zeros((1, 4, 4))
    attribution = numpy.zeros((1, 4, 4))
    attribution[0, 1, 2], attribution[0, 3, 0] = -2.0, 1.0
    heat = plots.saliency_heat(image, attribution)
    assert heat.shape == (4, 4) and heat[1, 2] == 1.0 and heat[3, 0] == 0.5 and heat.sum() == 1.5
    colour = numpy.ones((3, 4, 4))  # channels are summed
    numpy.testing.assert_allclose(plots.saliency_heat(numpy.zeros((3, 4, 4)), colour), numpy.ones((4, 4)))
    with pytest.raises(ValueError, match="pixels"):
        plots.saliency_heat(image, numpy.ones(5))


def test_saliency_picture_is_gray_left_and_coloured_right(tmp_path):
    image = numpy.zeros((28, 28))
    image[8:20, 12:16] = 1.0  # a "1"
    attribution = numpy.zeros((28, 28))
    attribution[8:20, 12:16] = 1.0
    pixels = _pixels(plots.saliency(image, attribution, tmp_path / "s.png", title="test"))
    width = pixels.shape[1]
    assert _colourful(pixels[:, : width // 2]) == 0.0  # the input, in gray
    assert _colourful(pixels[:, width // 2:]) > 0.005  # the heat map over it


def test_filters_draw_positive_red_and_negative_blue(tmp_path):
    conv = nn.Conv2d(1, 3, 5)
    conv.weight.data[:] = 0.0
    conv.weight.data[0, 0] = 1.0
    conv.weight.data[1, 0] = -1.0
    pixels = _pixels(plots.filters(conv, tmp_path / "f.png"))
    red = pixels[..., 0] > pixels[..., 2] + 50
    blue = pixels[..., 2] > pixels[..., 0] + 50
    assert red.sum() > 100 and blue.sum() > 100
    assert red.nonzero()[1].mean() < blue.nonzero()[1].mean()  # filter 0 (red) left of filter 1 (blue)
    with pytest.raises(ValueError, match="Conv2d"):
        plots.filters(nn.Linear(3, 2), tmp_path / "x.png")


def test_feature_maps_draw_the_layers_output(tmp_path):
    cr.manual_seed(0)
    model = cr.Sequential([nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten()])
    x = numpy.random.default_rng(0).random((1, 8, 8)).astype("float32")
    path = plots.feature_maps(model, "1", x, tmp_path / "maps.png")
    assert _pixels(path).shape[0] > 50
    with pytest.raises(ValueError, match="feature maps"):
        plots.feature_maps(model, "2", x, tmp_path / "flat.png")


def test_decision_regions_of_a_threshold_unit_follow_its_line():
    from chainrule.zoo.tlu import and_unit

    corners = numpy.array(list(itertools.product([0.0, 1.0], repeat=2)))
    grid_x, grid_y, classes = plots.decision_regions(and_unit(), corners, resolution=41)
    assert grid_x.min() == -0.5 and grid_x.max() == 1.5
    numpy.testing.assert_array_equal(classes, (3 * grid_x + 2 * grid_y >= 4).astype(int))


def test_decision_regions_of_a_classifier_use_argmax(tmp_path):
    model = nn.Linear(2, 3)
    model.weight.data[:] = numpy.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    model.bias.data[:] = 0.0
    points = numpy.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0]])
    grid_x, grid_y, classes = plots.decision_regions(model, points, resolution=30)
    expected = numpy.stack([grid_x, grid_y, -grid_x - grid_y]).argmax(axis=0)
    numpy.testing.assert_array_equal(classes, expected)
    pixels = _pixels(plots.decision_boundary(model, points, [0, 1, 2], tmp_path / "b.png"))
    assert _colourful(pixels) > 0.2
