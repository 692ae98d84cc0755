"""One seeded random stream for the whole library, and PyTorch's ``Generator`` for streams of one's own.

``manual_seed(s)`` makes every draw that chainrule makes (initialisers, dropout, shuffling, random
splits) repeat from run to run and from process to process. The generator's state can be saved and
restored, which is what lets a resumed training run continue exactly.

``Generator().manual_seed(s)`` is a separate stream, as ``torch.Generator``: the functions that take
PyTorch's ``generator=`` (``rand``, ``randn``, ``randint``, ``randperm``, ``normal_``, ``uniform_``,
``random_split``, ``DataLoader``) draw from it instead of the library's stream. Its numbers are
NumPy's PCG64, not PyTorch's Philox/MT19937: the same seed repeats here, not across the two libraries.
"""

import numbers

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


class Generator:
    """A random stream of its own, PyTorch's ``torch.Generator``: ``g = cr.Generator().manual_seed(42)``.

    Without ``manual_seed`` it starts from a fresh seed drawn from the operating system.
    ``device`` is accepted as PyTorch's; draws for a device tensor are made here and copied there.
    """

    def __init__(self, device="cpu"):
        import importlib

        # the module, not the package's attribute `chainrule.device` (the device class)
        self.device = importlib.import_module("chainrule.device").resolve(device)
        self.seed()

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator, so that calls chain."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"Generator.manual_seed: expected an int seed, got {seed!r}")
        self._seed = int(seed)
        self._numpy = numpy.random.default_rng(self._seed)
        return self

    def seed(self):
        """Restart from a fresh seed drawn from the operating system; returns that seed."""
        self.manual_seed(int(numpy.random.SeedSequence().entropy % 2**63))
        return self._seed

    def initial_seed(self):
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self):
        """A snapshot of the stream (a dict, JSON-serialisable) for :meth:`set_state`."""
        return self._numpy.bit_generator.state

    def set_state(self, state):
        self._numpy.bit_generator.state = state
        return self

    def __repr__(self):
        return f"Generator(device='{self.device}', initial_seed={self._seed})"


def numpy_generator(generator=None):
    """The NumPy generator to draw from: ``generator``'s (a :class:`Generator`), else the library's."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._numpy
    if isinstance(generator, numpy.random.Generator):
        return generator
    raise TypeError(f"generator= expects a chainrule.Generator (e.g. cr.Generator().manual_seed(0)), got "
                    f"{type(generator).__name__}")
