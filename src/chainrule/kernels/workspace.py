"""Memory that ops reuse from one training step to the next: the large arrays, without the page faults.

Why. A training step allocates the same large arrays every time (an LSTM's gate activations, a
convolution's output and input gradient: several MB each). glibc serves a block that large with a
fresh ``mmap``, or from the top of its heap, and gives it back to the operating system when it is
freed (``munmap``, or trimming the heap), so every step touches new pages, and the kernel zero-fills
each 4 KB page at its first touch (on the character LSTM, thousands of page faults a step: figures
in benchmarks/README.md); with its arrays from here, none. Keeping the arrays and handing them out
again costs none of it.

The rule that makes reuse safe: an array is handed out again only when nothing but this pool refers
to it, which ``sys.getrefcount`` tells exactly. Whoever still uses an array holds a reference: the
Tensor wrapping it (an op's output, a ``.grad``), the op node keeping it for its backward pass, a
local variable, or any view of it (a view holds a reference to the array that owns the memory). So
an array that the graph keeps stays out of the pool until backward frees it, and an output the
caller keeps is never overwritten. What the rule cannot see: a weak reference, or a raw address handed
to C code that keeps it after the call; do not keep either to an array from here. Only memory is
reused, never values: an array comes back with arbitrary contents, as from ``empty``, and the caller
writes all of it.

The pool is per thread (each thread reuses only its own arrays, so no lock is needed) and bounded:
``limit()`` bytes per thread (``set_limit`` changes it; 0 turns reuse off). Arrays smaller than
``SMALLEST_BYTES`` are not pooled: glibc serves those from its heap without page faults. Non-NumPy
arrays (CuPy) are never pooled: their libraries keep memory pools of their own.

Two entry points:
- :func:`reusable` (key, shape, dtype): an array of exactly that shape, which may become an op's
  output or be kept by its graph;
- :func:`scratch` (name, size, dtype): a 1-D buffer of at least ``size`` elements for work inside one
  call (unfolded columns), grown to the largest size asked for.
"""

import math
import sys
import threading

import numpy

from chainrule.errors import ConfigError

SMALLEST_BYTES = 64 * 1024  # below this, a fresh array is cheap (glibc's heap, no page faults)
_limit = 256 * 1024 * 1024  # bytes pooled per thread


def _references(arrays, index):
    """The reference count of ``arrays[index]``, as seen from here (compared with ``_ALONE``)."""
    return sys.getrefcount(arrays[index])


# the count for an array that only the pool's list refers to, measured the same way
_ALONE = _references([numpy.empty(1)], 0)


class _Pool:
    """One thread's pooled arrays, least recently handed out first."""

    def __init__(self):
        self.keys, self.arrays, self.nbytes = [], [], 0

    def find(self, match):
        """Hand out the most recently used unreferenced array whose key satisfies ``match``, or None."""
        keys, arrays = self.keys, self.arrays
        for i in range(len(arrays) - 1, -1, -1):
            if match(keys[i], arrays[i]) and _references(arrays, i) <= _ALONE:
                key, array = keys.pop(i), arrays.pop(i)
                keys.append(key)  # now the most recently used
                arrays.append(array)
                return array
        return None

    def add(self, key, array):
        """Keep ``array`` for reuse if it fits under the limit, forgetting least recently used ones."""
        if array.nbytes > _limit:
            return
        for only_unreferenced in (True, False):  # forgetting a held array frees nothing now
            i = 0
            while i < len(self.arrays) and self.nbytes + array.nbytes > _limit:
                if only_unreferenced and _references(self.arrays, i) > _ALONE:
                    i += 1
                else:
                    self.forget(i)
        self.keys.append(key)
        self.arrays.append(array)
        self.nbytes += array.nbytes

    def forget(self, index):
        """Drop the pool's reference (a holder, if any, keeps the array and frees it when done)."""
        self.nbytes -= self.arrays[index].nbytes
        del self.keys[index], self.arrays[index]


_local = threading.local()


def _pool():
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = _Pool()
    return pool


def _poolable(xp, nbytes):
    return xp is numpy and nbytes >= SMALLEST_BYTES and _limit > 0


def reusable(key, shape, dtype, xp=numpy):
    """An uninitialised array of ``shape`` and ``dtype``, reused from an earlier call with the same key
    once nothing refers to that one any more; a new array otherwise.

    ``key`` names the use (e.g. ``("lstm", "acts")``): arrays are matched by key, shape and dtype.
    The caller must write every element before reading it, exactly as after ``xp.empty``.
    """
    dtype = numpy.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    nbytes = dtype.itemsize * math.prod(shape)
    if not _poolable(xp, nbytes):
        return xp.empty(shape, dtype=dtype)
    pool, full_key = _pool(), (key, shape, dtype.str)
    array = pool.find(lambda k, _: k == full_key)
    if array is None:
        array = numpy.empty(shape, dtype=dtype)
        pool.add(full_key, array)
    return array


def scratch(xp, name, size, dtype):
    """A 1-D buffer of ``size`` uninitialised elements for work within one call, never part of a result.

    Reuses the buffer of an earlier call of the same name when it is large enough and free (the
    view returned refers to it, so two uses at once get two buffers); a new one grows to ``size``.
    """
    dtype = numpy.dtype(dtype)
    size = int(size)
    if not _poolable(xp, size * dtype.itemsize):
        return xp.empty(size, dtype=dtype)
    pool, full_key = _pool(), (("scratch", name), dtype.str)
    buffer = pool.find(lambda k, a: k == full_key and a.size >= size)
    if buffer is None:
        i = 0  # the larger buffer replaces the smaller free ones of the same name
        while i < len(pool.arrays):
            if pool.keys[i] == full_key and _references(pool.arrays, i) <= _ALONE:
                pool.forget(i)
            else:
                i += 1
        buffer = numpy.empty(size, dtype=dtype)
        pool.add(full_key, buffer)
    return buffer[:size]


def limit():
    """The most bytes each thread keeps for reuse."""
    return _limit


def set_limit(nbytes):
    """Keep at most ``nbytes`` per thread for reuse (0: reuse nothing); returns the previous limit.

    Lowering it takes effect in each thread at its next request; :func:`clear` frees at once.
    """
    global _limit
    if nbytes < 0:
        raise ConfigError(f"workspace.set_limit: the limit must be at least 0 bytes, got {nbytes}: "
                          "pass 0 to turn reuse off")
    previous, _limit = _limit, int(nbytes)
    return previous


def clear():
    """Forget every array this thread keeps for reuse (held ones stay with their holders)."""
    pool = _pool()
    pool.keys, pool.arrays, pool.nbytes = [], [], 0


def pooled_bytes():
    """The bytes this thread keeps for reuse (held or not)."""
    return _pool().nbytes


def batch_innermost(xp, shape, dtype, key, fill=None):
    """:func:`chainrule.ops.window.batch_innermost` in memory reused from the step before (``key``).

    Large backward arrays (a convolution's or a pool's input gradient) page-faulted on fresh memory.
    """
    n, c, h, w = shape
    raw = reusable(key, (c, h, w, n), dtype, xp)
    if fill is not None:
        raw.fill(fill)
    return raw.transpose(3, 0, 1, 2)
