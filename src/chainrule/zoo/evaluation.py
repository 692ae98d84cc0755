"""Using a saved model from the command line: evaluate it, predict a digit image, summarise it."""

import numpy

from chainrule.errors import ChainruleError
from chainrule.zoo.digit_image import read_digit_image  # noqa: F401 - used by the CLI from here


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
