"""Using a saved model from the command line: evaluate it, predict a digit image, summarise it."""

from pathlib import Path

import numpy

from chainrule.errors import ChainruleError


def _input_kind(model):
    """"flat" for (N, 784) inputs, "image" for (N, 1, 28, 28); from the input spec the file kept."""
    spec = getattr(model, "input_spec", None) or {}
    shape = tuple(spec.get("shape", ()))[1:]
    if shape == (784,):
        return "flat"
    if shape == (1, 28, 28):
        return "image"
    raise ChainruleError(f"this model takes inputs of shape {shape or 'unknown'}, not MNIST digits "
                         "(784 pixels or 1x28x28); evaluate and predict work on digit models")


def as_probabilities(outputs):
    """Rows of class probabilities from probabilities, log-probabilities or logits."""
    outputs = numpy.asarray(outputs, dtype=numpy.float64)
    sums = outputs.sum(axis=1)
    if outputs.min() >= 0 and numpy.allclose(sums, 1.0, atol=1e-3):
        return outputs
    if outputs.max() <= 0 and numpy.allclose(numpy.exp(outputs).sum(axis=1), 1.0, atol=1e-3):
        return numpy.exp(outputs)
    shifted = numpy.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def evaluate_file(model, data=None, limit=None):
    """Lines of text: test loss and accuracy (classifiers) or reconstruction loss (autoencoders)."""
    from chainrule.zoo.char_rnn import CharRNN
    from chainrule.zoo.mnist_data import load_digits

    if any(isinstance(m, CharRNN) for m in model.modules()):
        raise ChainruleError("evaluate works on digit models; for a char_rnn model use "
                             "`chainrule generate FILE`")
    kind = _input_kind(model)
    _, (x_test, y_test) = load_digits(data, shape=kind, test_limit=limit)
    outputs = numpy.asarray(model.predict(x_test, batch_size=256), dtype=numpy.float64)
    lines = [f"test digits: {len(x_test)}"]
    if outputs.shape[1:] == (10,):
        probabilities = as_probabilities(outputs)
        picked = probabilities[numpy.arange(len(y_test)), y_test]
        loss = float(-numpy.mean(numpy.log(numpy.clip(picked, 1e-7, 1.0))))
        accuracy = float(numpy.mean(probabilities.argmax(axis=1) == y_test))
        lines += [f"test loss (cross-entropy): {loss:.4f}", f"test accuracy: {accuracy:.4f}"]
    elif outputs.shape[1:] == (784,):
        x = x_test.reshape(len(x_test), 784).astype(numpy.float64)
        p = numpy.clip(outputs, 1e-7, 1 - 1e-7)
        bce = float(-numpy.mean(x * numpy.log(p) + (1 - x) * numpy.log(1 - p)))
        mse = float(numpy.mean((outputs - x) ** 2))
        lines += [f"test reconstruction loss (binary cross-entropy): {bce:.4f}",
                  f"test reconstruction error (mean squared): {mse:.4f}"]
    else:
        raise ChainruleError(f"the model's outputs have shape {outputs.shape[1:]}: expected 10 class "
                             "scores or 784 reconstructed pixels")
    return lines


def read_digit_image(path):
    """A 28x28 grayscale image as float32 in [0, 1], white digit on black as in MNIST.

    PNG files are read with matplotlib (``chainrule[plot]``); colour is averaged to gray; an image on a
    light background is inverted; other sizes are resized with Pillow when it is installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file {str(path)!r}")
    try:
        from matplotlib import image as mpimg
    except ModuleNotFoundError:
        raise ChainruleError('reading an image needs matplotlib: pip install "chainrule[plot]"') from None
    try:
        pixels = numpy.asarray(mpimg.imread(str(path)), dtype=numpy.float64)
    except (OSError, ValueError, SyntaxError) as error:
        raise ChainruleError(f"{path}: not an image that can be read ({error}); "
                             "expected a 28x28 PNG") from None
    if pixels.max() > 1.0:  # 8-bit data from a non-PNG reader
        pixels = pixels / 255.0
    if pixels.ndim == 3:
        pixels = _gray(pixels)
    if pixels.size == 0 or float(pixels.max() - pixels.min()) < 1e-6:
        raise ChainruleError(f"{path}: the image is blank (one colour all over); expected a digit drawn on a "
                             "plain background")
    if pixels.shape != (28, 28):
        pixels = _resize(pixels, path)
    if pixels.mean() > 0.5:
        pixels = 1.0 - pixels
    return pixels.astype(numpy.float32)


def _gray(pixels):
    """Gray levels of an RGB(A) or gray+alpha image; transparent pixels count as white paper.

    A drawing exported from a canvas is often black ink on a transparent background: its colour
    channels are all black, and only the alpha channel holds the digit.
    """
    channels = pixels.shape[2]
    if channels in (2, 4):
        colour, alpha = pixels[..., :channels - 1].mean(axis=2), pixels[..., channels - 1]
        return colour * alpha + (1.0 - alpha)
    return pixels[..., :3].mean(axis=2)


def _resize(pixels, path):
    try:
        from PIL import Image
    except ModuleNotFoundError:
        raise ChainruleError(f"{path}: the image is {pixels.shape[1]}x{pixels.shape[0]}, expected 28x28; "
                             "resize it, or install Pillow to have it resized") from None
    image = Image.fromarray((pixels * 255).astype(numpy.uint8)).resize((28, 28))
    return numpy.asarray(image, dtype=numpy.float64) / 255.0


def predict_image(model, image):
    """(predicted digit, probabilities of the ten digits) for one 28x28 image."""
    kind = _input_kind(model)
    x = image.reshape(1, 784) if kind == "flat" else image.reshape(1, 1, 28, 28)
    outputs = numpy.asarray(model.predict(x), dtype=numpy.float64)
    if outputs.shape != (1, 10):
        raise ChainruleError("predict needs a digit classifier (10 outputs), this model gives "
                             f"{outputs.shape[1:]}")
    probabilities = as_probabilities(outputs)[0]
    return int(probabilities.argmax()), probabilities


def summary_lines(model, input_shape=None):
    """The Keras-style summary of a model (or of each model of a pair, such as the GAN's)."""
    from chainrule.train import Model

    models = model if isinstance(model, tuple) else (model,)
    lines = []
    for part in models:
        part = part if isinstance(part, Model) else Model(part)
        lines.extend(part.summary(input_shape=input_shape, print_fn=lambda text: None).splitlines())
    return lines
