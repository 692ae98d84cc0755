"""``keras.datasets.mnist.load_data()``: MNIST as Keras gives it, from :mod:`chainrule.data.mnist`.

Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels. The
IDX files cached in ``$CHAINRULE_HOME/mnist`` are used when present; else they are downloaded
(SHA-256 checked); where that fails (no network) or ``CHAINRULE_OFFLINE=1`` is set, the embedded
5,000-digit subset (4,000 training, 1,000 test) is used, with one warning saying so.
"""

import os
import warnings

from chainrule.data import mnist
from chainrule.data.download import DownloadError


def load_data(path="mnist.npz"):
    """Keras's ``load_data``; ``path`` (Keras's cache file name) is accepted and unused."""
    offline = os.environ.get("CHAINRULE_OFFLINE", "") not in ("", "0")
    try:
        data = mnist.load(download=not offline)
    except DownloadError:
        data = None
    if data is None or data.source == "embedded":
        data = data or mnist.load(source="embedded")
        warnings.warn("keras.datasets.mnist.load_data: the full MNIST could not be found or downloaded, so "
                      "this is the embedded subset of 5,000 real digits (4,000 for training, 1,000 for "
                      "testing); put the four IDX files in $CHAINRULE_HOME/mnist (or run once with network) "
                      "for all 70,000", UserWarning, stacklevel=2)
    (x_train, y_train), (x_test, y_test) = data
    return (x_train, y_train), (x_test, y_test)
