"""MNIST as the zoo's models want it: float32 pixels in [0, 1], flat or as 1-channel images."""

import numpy

from chainrule.errors import ChainruleError


def load_digits(data=None, limit=None, shape="flat", test_limit=None):
    """``((x_train, y_train), (x_test, y_test))``, pixels scaled to [0, 1] and labels int64.

    Arguments:
        data: directory of the MNIST IDX files (default: the cache, else the embedded 5,000 digits);
            a directory named here must hold them: a mistyped path is an error, not a silent fallback.
        limit: keep the first ``limit`` training digits (for quick runs and tests); the test set is
            cut to ``test_limit`` (default: a quarter of ``limit``, at least 100) when ``limit`` is set.
        shape: ``"flat"`` gives (N, 784), ``"image"`` (N, 1, 28, 28) for convolutions.
    """
    from chainrule.data import mnist

    if data is None:
        (x_train, y_train), (x_test, y_test) = mnist.load()
    else:
        (x_train, y_train), (x_test, y_test) = _load_named_directory(mnist, data)
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        test_limit = test_limit if test_limit is not None else max(100, limit // 4)
    if test_limit is not None:
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    train = (_scale(x_train, shape), y_train.astype(numpy.int64))
    return train, (_scale(x_test, shape), y_test.astype(numpy.int64))


def _load_named_directory(mnist, data):
    from chainrule.data import DataNotFoundError

    try:
        return mnist.load(path=data, source="idx")
    except DataNotFoundError:
        raise DataNotFoundError(f"data {str(data)!r}: expected a directory holding the four MNIST IDX files "
                                f"({', '.join(mnist.FILES)}, gzipped or not), and did not find them there; "
                                "hint: leave the data location out to use the cache or the embedded "
                                "5,000 digits") from None


def _scale(images, shape):
    if shape not in ("flat", "image"):
        raise ChainruleError(f"load_digits: expected shape 'flat' or 'image', got {shape!r}")
    x = images.astype(numpy.float32) / 255.0
    return x.reshape(len(x), 784) if shape == "flat" else x.reshape(len(x), 1, 28, 28)
