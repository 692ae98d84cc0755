"""One seeded random stream for the whole library.

``manual_seed(s)`` makes every draw that chainrule makes (initialisers, dropout, shuffling, random
splits) repeat from run to run and from process to process. The generator's state can be saved and
restored, which is what lets a resumed training run continue exactly.
"""

import numpy

_generator = numpy.random.default_rng()


def manual_seed(seed):
    """Seed the library's generator; returns it."""
    global _generator
    _generator = numpy.random.default_rng(seed)
    return _generator


def generator():
    """The generator every chainrule draw comes from."""
    return _generator


def get_state():
    """A JSON-serialisable snapshot of the generator (for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state):
    """Restore a snapshot taken by :func:`get_state`."""
    _generator.bit_generator.state = state
