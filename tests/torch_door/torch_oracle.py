"""The oracle of this folder's ``test_oracle_*`` files: one idiom, written once, run with ``torch`` and
with ``chainrule``.

An idiom is a function of a namespace ``m`` (``m.T`` the top-level module, ``m.nn``, ``m.F``,
``m.optim``, ``m.data``), the way a PyTorch user writes with only the import lines changing.
:func:`check` runs it both ways and requires the same result: values (to float32 rounding), dtypes,
shapes, Python types; where torch raises, chainrule must raise too.
"""

import math
import types

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional
import chainrule.optim
import chainrule.utils.data  # noqa: F401 - the namespaces the idioms reach


def _namespace(top, nn, functional, optim, data):
    return types.SimpleNamespace(T=top, nn=nn, F=functional, optim=optim, data=data)


def _comparable(value, torch):
    """``value`` with every tensor, dtype, device and Size in one form both libraries share."""
    if isinstance(value, (torch.Tensor, cr.Tensor)):
        array = value.detach().numpy() if isinstance(value, torch.Tensor) else value.detach().numpy()
        return ("tensor", str(value.dtype).replace("torch.", ""), np.array(array))
    if isinstance(value, torch.dtype):
        return ("dtype", str(value).replace("torch.", ""))
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return ("dtype", str(np.dtype(value)))  # cr.float32 is numpy.float32, a type
    if isinstance(value, (torch.device, cr.device)):
        return ("device", str(value))
    if isinstance(value, (tuple, list)):  # torch.Size and named tuples too
        return tuple(_comparable(item, torch) for item in value)
    if isinstance(value, dict):
        return {key: _comparable(item, torch) for key, item in value.items()}
    return value


def _assert_same(ours, theirs, where="result"):
    if isinstance(theirs, tuple) and theirs[:1] == ("tensor",):
        assert isinstance(ours, tuple) and ours[:1] == ("tensor",), (
            f"{where}: expected a tensor, got {ours!r}"
        )
        assert ours[1] == theirs[1], f"{where}: dtype {ours[1]}, torch's {theirs[1]}"
        assert ours[2].shape == theirs[2].shape, f"{where}: shape {ours[2].shape}, torch's {theirs[2].shape}"
        np.testing.assert_allclose(
            ours[2].astype(float), theirs[2].astype(float), rtol=1e-5, atol=1e-6, err_msg=where
        )
    elif isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{where}: {ours!r} against {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), (
            f"{where}: {ours!r} against {theirs!r}"
        )
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, float) and not isinstance(theirs, bool):
        assert isinstance(ours, float) and math.isclose(ours, theirs, rel_tol=1e-5, abs_tol=1e-6), (
            f"{where}: {ours!r} against {theirs!r}"
        )
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r} against torch's {theirs!r}"


def checker():
    """The function checking one idiom against torch (the test is skipped without torch)."""
    torch = pytest.importorskip("torch")
    theirs_ns = _namespace(torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data)
    ours_ns = _namespace(cr, cr.nn, cr.nn.functional, cr.optim, cr.utils.data)

    def check(idiom):
        try:
            theirs = _comparable(idiom(theirs_ns), torch)
        except Exception as error:  # torch refuses: so must we
            with pytest.raises(Exception):  # noqa: B017, PT011 - any clear error will do
                idiom(ours_ns)
            return error
        _assert_same(_comparable(idiom(ours_ns), torch), theirs)
        return None

    return check


# two small matrices the idioms share, the same in every file
A = np.arange(12, dtype=np.float32).reshape(3, 4) / 7 - 0.6
B = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def registry():
    """``(IDIOMS, idiom)``: a dict of idioms by name, and the decorator that adds one to it."""
    idioms = {}

    def idiom(function):
        idioms[function.__name__] = function
        return function

    return idioms, idiom


def idiom_test(idioms):
    """The test running every idiom of ``idioms`` against torch, one case each."""

    @pytest.mark.parametrize("name", sorted(idioms))
    def test_idiom_agrees_with_torch(name, agrees_with_torch):
        agrees_with_torch(idioms[name])

    return test_idiom_agrees_with_torch
