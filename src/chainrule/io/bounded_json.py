"""JSON from files, parsed only after its size and nesting depth are known to be sane.

``json.loads`` recurses once per nesting level, so a hostile ``[[[[...]]]]`` ends in a
RecursionError deep inside the parser, and a 5,000-digit number in a ValueError about digit limits.
:func:`loads` measures the nesting depth first, with the strings taken out (their brackets do not
count), and turns every way the text can fail into a :class:`FormatError` naming the file and the
entry.
"""

import json
import re

import numpy

from chainrule.errors import FormatError

MAX_DEPTH = 64  # an architecture nests two levels per container: 30 containers deep is plenty

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = numpy.frombuffer(b"[{", dtype=numpy.uint8)
_CLOSE = numpy.frombuffer(b"]}", dtype=numpy.uint8)


def depth(text):
    """The deepest nesting of ``[`` and ``{`` in JSON ``text`` (brackets inside strings do not count)."""
    codes = numpy.frombuffer(_STRING.sub("", text).encode("utf-8"), dtype=numpy.uint8)
    steps = numpy.isin(codes, _OPEN).astype(numpy.int64) - numpy.isin(codes, _CLOSE)
    return int(numpy.cumsum(steps).max(initial=0))


def loads(text, path, what, max_depth=MAX_DEPTH):
    """Parse ``text`` (the ``what`` of file ``path``); FormatError when it is too deep or not JSON."""
    if not isinstance(text, str):
        raise FormatError(f"{path}: expected text in {what}, got {type(text).__name__}; hint: the file is "
                          "corrupted")
    nesting = depth(text)
    if nesting > max_depth:
        raise FormatError(f"{path}: expected {what} nested at most {max_depth} levels deep, got {nesting}; "
                          "hint: the file is corrupted or hostile")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FormatError(f"{path}: expected JSON in {what}, got text that does not parse "
                          f"({str(error)[:200]}); hint: the file is corrupted") from None
