"""``keras.utils``: ``to_categorical`` (Keras's float32 one-hot rows), ``set_random_seed``."""

from chainrule.data.transforms import to_categorical as _to_categorical
from chainrule.random import manual_seed


def to_categorical(x, num_classes=None):
    """Integer labels to one-hot float32 rows (Keras's); ``num_classes`` defaults to max + 1."""
    return _to_categorical(x, num_classes)


def set_random_seed(seed):
    """Seed chainrule's random streams (initialisers, dropout, shuffling), as Keras's."""
    manual_seed(seed)


def clear_session():
    """Keras 3's ``keras.utils.clear_session()``: layer names start afresh."""
    from chainrule.keras.backend import clear_session as clear

    clear()
