"""Reading a user's digit image for ``chainrule predict``: gray, RGB, transparent and blank PNGs."""

import numpy
import pytest

from chainrule.errors import ChainruleError
from chainrule.zoo.evaluation import read_digit_image

mpimg = pytest.importorskip("matplotlib.image")


def _digit():
    """A white ring on black, in [0, 1]: an MNIST-like '0'."""
    rows, cols = numpy.mgrid[0:28, 0:28]
    radius = numpy.hypot(rows - 13.5, cols - 13.5)
    return numpy.clip(1.0 - numpy.abs(radius - 8.0) / 2.5, 0.0, 1.0)


def test_black_ink_on_a_transparent_background_reads_like_the_gray_digit(tmp_path):
    ink = _digit()
    gray = tmp_path / "gray.png"
    mpimg.imsave(gray, ink, cmap="gray", vmin=0.0, vmax=1.0)
    transparent = tmp_path / "canvas.png"
    rgba = numpy.zeros((28, 28, 4))
    rgba[..., 3] = ink  # black everywhere; only the alpha channel draws the digit
    mpimg.imsave(transparent, rgba)
    expected = read_digit_image(gray)
    numpy.testing.assert_allclose(read_digit_image(transparent), expected, atol=2 / 255)
    assert expected.max() > 0.9 and expected[0, 0] < 0.05  # white digit on black, as MNIST


def test_a_blank_image_is_refused(tmp_path):
    blank = tmp_path / "blank.png"
    mpimg.imsave(blank, numpy.zeros((28, 28)), cmap="gray", vmin=0.0, vmax=1.0)
    with pytest.raises(ChainruleError, match="blank"):
        read_digit_image(blank)


def test_a_large_off_centre_drawing_is_cropped_scaled_and_centred_as_mnist(tmp_path):
    pytest.importorskip("PIL")
    canvas = numpy.zeros((300, 400))
    canvas[20:140, 30:90] = 1.0  # a tall block of ink in the top-left corner
    path = tmp_path / "drawing.png"
    mpimg.imsave(path, canvas, cmap="gray", vmin=0.0, vmax=1.0)
    digit = read_digit_image(path)
    assert digit.shape == (28, 28)
    rows, cols = numpy.nonzero(digit > 0.5)
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1)  # the longer side fills MNIST's 20 pixels
    assert cols.max() - cols.min() + 1 == pytest.approx(10, abs=1)  # the aspect ratio is kept
    mass = digit / digit.sum()
    grid_rows, grid_cols = numpy.indices(digit.shape)
    assert (mass * grid_rows).sum() == pytest.approx(14, abs=1)  # centred by mass in the 28x28 frame
    assert (mass * grid_cols).sum() == pytest.approx(14, abs=1)


def test_the_box_places_the_frame_over_the_original_drawing():
    pytest.importorskip("PIL")
    from chainrule.zoo.digit_image import prepare_digit

    canvas = numpy.zeros((300, 400))
    canvas[20:140, 30:90] = 1.0
    digit, (x, y, width, height) = prepare_digit(canvas)
    assert width == height == pytest.approx(28 * 120 / 20)  # 120 pixels of ink became 20
    rows, cols = numpy.nonzero(digit > 0.5)
    # the frame's inked rows and columns map back onto the block's rows 20-140 and columns 30-90
    assert y + rows.min() * height / 28 == pytest.approx(20, abs=height / 28)
    assert x + cols.min() * width / 28 == pytest.approx(30, abs=width / 28)
