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
