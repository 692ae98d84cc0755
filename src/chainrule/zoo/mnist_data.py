"""MNIST as the zoo's models want it: float32 pixels in [0, 1], flat or as 1-channel images."""

import numpy

from chainrule.errors import ChainruleError


def load_digits(data=None, limit=None, shape="flat", test_limit=None):
    """``((x_train, y_train), (x_test, y_test))``, pixels scaled to [0, 1] and labels int64.

    Arguments:
        data: directory of the MNIST IDX files (default: the cache, else the embedded 5,000 digits).
        limit: keep the first ``limit`` training digits (for quick runs and tests); the test set is
            cut to ``test_limit`` (default: a quarter of ``limit``, at least 100) when ``limit`` is set.
        shape: ``"flat"`` gives (N, 784), ``"image"`` (N, 1, 28, 28) for convolutions.
    """
    from chainrule.data import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load(path=data)
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        test_limit = test_limit if test_limit is not None else max(100, limit // 4)
    if test_limit is not None:
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    train = (_scale(x_train, shape), y_train.astype(numpy.int64))
    return train, (_scale(x_test, shape), y_test.astype(numpy.int64))


def _scale(images, shape):
    if shape not in ("flat", "image"):
        raise ChainruleError(f"load_digits: expected shape 'flat' or 'image', got {shape!r}")
    x = images.astype(numpy.float32) / 255.0
    return x.reshape(len(x), 784) if shape == "flat" else x.reshape(len(x), 1, 28, 28)
