"""Fixtures shared by the tests of the compiled and MKL routes."""

import pytest

from chainrule.kernels import blas_route, conv
from chainrule.kernels import mkl as blas


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(owner, name)`` wraps ``owner.name`` to count its calls; returns the count (a list)."""

    def wrap(owner, name):
        count = [0]
        original = getattr(owner, name)

        def counting(*args, **kwargs):
            count[0] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)
        return count

    return wrap


@pytest.fixture
def tiles_taken(monkeypatch):
    """Whether the register tiles took each convolution pass that asked (``conv.tiles_for``): a list of
    booleans, one per asking."""
    taken = []
    real = conv.tiles_for

    def spy(*args):
        tiles = real(*args)
        taken.append(tiles is not None)
        return tiles

    monkeypatch.setattr(conv, "tiles_for", spy)
    return taken


@pytest.fixture
def mkl(monkeypatch):
    """MKL loaded and chosen (CHAINRULE_BLAS=mkl, as if this process had not chosen yet), whether or not
    it wins here; skip where the mkl package is not installed."""
    monkeypatch.setenv(blas.SWITCH_VARIABLE, "mkl")
    monkeypatch.setattr(blas_route, "_choice", None)
    if blas.find_library() is None:
        pytest.skip("the mkl package is not installed (pip install chainrule[mkl])")
    assert blas.load() and blas.active() == "mkl"


@pytest.fixture
def forget_mkl(monkeypatch):
    """``forget_mkl()``: as in a process that has not looked for MKL yet (the next call looks again)."""

    def forget():
        monkeypatch.setattr(blas_route, "_choice", None)
        monkeypatch.setattr(blas_route, "_last_parallel", None)  # no kernel on Numba's threads yet
        monkeypatch.setattr(blas, "library", None)
        monkeypatch.setattr(blas, "_routines", {})
        monkeypatch.setattr(blas, "_packers", {})

    return forget
