"""A person's digit image as MNIST's 28x28 input: for ``chainrule predict`` and ``chainrule serve``.

MNIST's digits are white ink on black, scaled so that the digit fits a 20x20 box, and placed in the
28x28 frame so that their centre of mass is in the middle. A drawing from a canvas or a photo of a
digit is none of that, so an image of any other size goes through the same steps: gray levels, ink
made bright, the inked part cropped, scaled to 20 pixels on its longer side and centred by mass.
A 28x28 image is taken as already prepared (only made gray and bright-on-dark).

Each function returns the image and the *box*: where the 28x28 frame lies in the original image's
pixel coordinates, ``[x, y, width, height]``, so that a picture computed on the 28x28 input (a
saliency map) can be drawn back over the original.
"""

import io

import numpy

from chainrule.errors import ChainruleError

FRAME = 28  # MNIST's image side
DIGIT_BOX = 20  # the side of the box MNIST scales each digit into
INK_THRESHOLD = 0.1  # of the brightest ink: fainter pixels do not count towards the crop
MAX_PIXELS = 4096 * 4096  # a larger picture is refused before it is decoded (a decompression bomb)


def read_digit_image(path):
    """A 28x28 grayscale image as float32 in [0, 1], white digit on black as in MNIST.

    PNG and JPEG files are read with Pillow when it is installed, else PNG with matplotlib
    (``chainrule[plot]``); colour is averaged to gray; an image on a light background is inverted;
    other sizes are cropped, scaled and centred as MNIST's digits were (that needs Pillow).
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file {str(path)!r}")
    try:
        import PIL  # noqa: F401 - only asking whether Pillow is there
    except ModuleNotFoundError:
        pixels = _read_with_matplotlib(path)
    else:
        pixels = decode_image(path.read_bytes(), str(path))
    return prepare_digit(pixels, str(path))[0]


def decode_image(data, where="the image"):
    """Gray levels in [0, 1] (float64, 2-D) of PNG or JPEG bytes; needs Pillow.

    Transparent pixels count as white paper: a drawing exported from a canvas is often black ink on a
    transparent background, where only the alpha channel holds the digit.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ModuleNotFoundError:
        raise ChainruleError('reading an image needs Pillow: pip install "chainrule[serve]"') from None
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only: the size is known before decoding
        if image.format not in ("PNG", "JPEG"):
            raise ChainruleError(f"{where}: a {image.format} image; expected a PNG or JPEG image")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ChainruleError(f"{where}: {width}x{height} pixels is too large (at most {MAX_PIXELS:,} "
                                 "pixels); scale it down first")
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            gray_alpha = numpy.asarray(image.convert("LA"), dtype=numpy.float64) / 255.0
            return _gray(gray_alpha)
        return numpy.asarray(image.convert("L"), dtype=numpy.float64) / 255.0
    except UnidentifiedImageError:
        raise ChainruleError(f"{where}: these bytes are not an image; expected a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ChainruleError(f"{where}: not an image that can be read ({error}); expected a PNG or JPEG "
                             "image") from None


def prepare_digit(pixels, where="the image"):
    """(28x28 float32 image in [0, 1], box) from gray levels of any size; see the module's docstring."""
    pixels = numpy.asarray(pixels, dtype=numpy.float64)
    if pixels.ndim == 3:
        pixels = _gray(pixels)
    if pixels.size == 0 or float(pixels.max() - pixels.min()) < 1e-6:
        raise ChainruleError(f"{where}: the image is blank (one colour all over); expected a digit drawn on "
                             "a plain background")
    if pixels.mean() > 0.5:  # dark ink on light paper
        pixels = 1.0 - pixels
    if pixels.shape == (FRAME, FRAME):
        return pixels.astype(numpy.float32), [0.0, 0.0, float(FRAME), float(FRAME)]
    return _centre(pixels, where)


def _centre(pixels, where):
    """Crop the ink, scale its longer side to 20 pixels and centre it by mass in a 28x28 frame."""
    try:
        from PIL import Image
    except ModuleNotFoundError:
        height, width = pixels.shape
        raise ChainruleError(f"{where}: the image is {width}x{height}, expected 28x28; resize it, or install "
                             "Pillow to have it resized") from None
    rows, cols = numpy.nonzero(pixels > INK_THRESHOLD * pixels.max())
    top, left = rows.min(), cols.min()
    ink = pixels[top:rows.max() + 1, left:cols.max() + 1]
    scale = DIGIT_BOX / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))  # (width, height)
    small = Image.fromarray((ink * 255).astype(numpy.uint8)).resize(size, Image.Resampling.LANCZOS)
    small = numpy.asarray(small, dtype=numpy.float64) / 255.0
    # where the centre of mass lands in the middle of the frame, kept inside the frame
    mass_rows, mass_cols = numpy.indices(small.shape)
    total = small.sum() or 1.0
    offset_y = _clamp(round(FRAME / 2 - (mass_rows * small).sum() / total), FRAME - small.shape[0])
    offset_x = _clamp(round(FRAME / 2 - (mass_cols * small).sum() / total), FRAME - small.shape[1])
    frame = numpy.zeros((FRAME, FRAME))
    frame[offset_y:offset_y + small.shape[0], offset_x:offset_x + small.shape[1]] = small
    # frame pixel (0, 0) shows the original point (left - offset_x / scale, top - offset_y / scale)
    box = [left - offset_x / scale, top - offset_y / scale, FRAME / scale, FRAME / scale]
    return frame.astype(numpy.float32), [float(v) for v in box]


def _clamp(offset, largest):
    return int(min(max(offset, 0), largest))


def _gray(pixels):
    """Gray levels of an RGB(A) or gray+alpha image; transparent pixels count as white paper."""
    channels = pixels.shape[2]
    if channels in (2, 4):
        colour, alpha = pixels[..., :channels - 1].mean(axis=2), pixels[..., channels - 1]
        return colour * alpha + (1.0 - alpha)
    return pixels[..., :3].mean(axis=2)


def _read_with_matplotlib(path):
    try:
        from matplotlib import image as mpimg
    except ModuleNotFoundError:
        raise ChainruleError('reading an image needs Pillow or matplotlib: pip install "chainrule[plot]"') \
            from None
    try:
        pixels = numpy.asarray(mpimg.imread(str(path)), dtype=numpy.float64)
    except (OSError, ValueError, SyntaxError) as error:
        raise ChainruleError(f"{path}: not an image that can be read ({error}); expected a PNG image") \
            from None
    if pixels.max() > 1.0:  # 8-bit data from a non-PNG reader
        pixels = pixels / 255.0
    return _gray(pixels) if pixels.ndim == 3 else pixels
