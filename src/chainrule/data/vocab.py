"""A character vocabulary: text to integer ids and back, for character-level language models."""

import numpy

from chainrule.errors import ChainruleError, ConfigError, DTypeError


class UnknownCharacterError(ChainruleError, ValueError):
    """Text holds a character that the vocabulary was not built with."""


class CharVocab:
    """The sorted unique characters of a text, each given the id of its rank.

    ``encode`` and ``decode`` are vectorised (one table lookup over the code points), so encoding a
    corpus of millions of characters takes milliseconds.

        >>> vocab = CharVocab("hello")
        >>> vocab.chars, len(vocab)
        ('ehlo', 4)
        >>> ids = vocab.encode("hole")
        >>> ids.tolist(), vocab.decode(ids)
        ([1, 3, 2, 0], 'hole')
    """

    def __init__(self, text):
        self.chars = "".join(sorted(set(text)))
        if not self.chars:
            raise ConfigError("CharVocab: expected a text with at least one character, got an empty one")
        codes = _code_points(self.chars)
        self._code_array = codes.astype("<u4")
        # lookup[code point] = id, -1 for characters outside the vocabulary
        self._lookup = numpy.full(int(codes.max()) + 1, -1, dtype=numpy.int64)
        self._lookup[codes] = numpy.arange(len(codes))

    def __len__(self):
        return len(self.chars)

    def __contains__(self, char):
        return char in self.chars

    def __eq__(self, other):
        return isinstance(other, CharVocab) and other.chars == self.chars

    def __hash__(self):
        return hash(self.chars)

    def __repr__(self):
        preview = self.chars if len(self.chars) <= 40 else self.chars[:37] + "..."
        return f"CharVocab({len(self)} chars: {preview!r})"

    def encode(self, text):
        """The ids of the characters of ``text``, as an int64 array of ``len(text)``."""
        codes = _code_points(text)
        beyond_table = codes >= len(self._lookup)  # any such character is unknown
        if beyond_table.any():
            self._raise_unknown(text, beyond_table | (self._lookup[codes % len(self._lookup)] < 0))
        ids = self._lookup[codes]
        if ids.size and ids.min() < 0:
            self._raise_unknown(text, ids < 0)
        return ids

    def _raise_unknown(self, text, unknown_mask):
        unknown = numpy.flatnonzero(unknown_mask)
        position = int(unknown[0])
        char = text[position]
        raise UnknownCharacterError(
            f"CharVocab.encode: character {char!r} (U+{ord(char):04X}) at position {position} is not in "
            f"the vocabulary of {len(self)} characters ({unknown.size} unknown in all); build the "
            "vocabulary from a text that contains it"
        )

    def decode(self, ids):
        """The text whose characters have the given ids (any integer sequence or array)."""
        ids = numpy.asarray(ids.numpy() if hasattr(ids, "numpy") else ids)
        if ids.size == 0:
            return ""
        if ids.dtype.kind not in "iu":
            raise DTypeError(f"CharVocab.decode: expected integer ids, got dtype {ids.dtype}")
        ids = ids.ravel()
        bad = numpy.flatnonzero((ids < 0) | (ids >= len(self)))
        if bad.size:
            raise ConfigError(f"CharVocab.decode: expected ids in [0, {len(self)}), got {ids[bad[0]]} at "
                             f"position {int(bad[0])}")
        # code points back to UTF-32 bytes: one decode, no Python loop over characters
        return self._code_array[ids].tobytes().decode("utf-32-le", "surrogatepass")

    def to_dict(self):
        """A JSON-serialisable description: ``{"chars": "..."}``."""
        return {"chars": self.chars}

    @classmethod
    def from_dict(cls, state):
        """Rebuild the vocabulary that :meth:`to_dict` described (ids are preserved)."""
        return cls(state["chars"])


def _code_points(text):
    """The Unicode code points of a string as a uint32 array (a view of its UTF-32 encoding)."""
    return numpy.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
