"""A strict stand-in for CuPy: NumPy arrays behind a wall that only explicit transfers cross.

CuPy keeps its arrays in GPU memory and refuses every *implicit* trip to or from the host:
``numpy.asarray(gpu_array)`` raises ``TypeError`` (``__array__`` is refused: use ``.get()`` or
``cupy.asnumpy``), an operator or ufunc given a CuPy and a NumPy array raises ``TypeError``, and
``cupy.*`` functions take only CuPy arrays, Python scalars and NumPy scalars (``cupy.asarray`` and
``cupy.array`` are the explicit host-to-device copies). A reduction returns a 0-d array, not a NumPy
scalar; ``float()``/``int()``/``bool()`` of a one-element array are allowed (they synchronise).
``operator.index`` is refused. ``cupy_array[:] = numpy_array`` is the one assignment from the host.

:class:`StrictArray` keeps those rules over a NumPy array, and :data:`xp` is its array module: the
part of NumPy's namespace CuPy has, with CuPy's random ``Generator`` (no ``normal``, ``uniform``,
``permutation``, ``shuffle`` or ``choice``) and CuPy's ufunc methods (``add.at``, ``add.reduceat``; no
``maximum.reduce``). Code that runs on it
without an error has no host/device mix left, which is what the tests under this folder check
without a GPU.
"""

import numbers
import operator
import types

import numpy

_MIXED = ("Unsupported type <class 'numpy.ndarray'>: a device array met a host (NumPy) array; "
          "move it explicitly with xp.asarray(host) or device_array.get()")


def _unwrap(value):
    """The NumPy array behind ``value``; a host ndarray is refused as CuPy refuses it."""
    if isinstance(value, StrictArray):
        return value._host
    if isinstance(value, numpy.ndarray):
        raise TypeError(_MIXED)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    return value


def _wrap(value):
    """NumPy arrays and NumPy scalars come back as device arrays (CuPy returns 0-d arrays)."""
    if isinstance(value, numpy.ndarray):
        return StrictArray(value)
    if isinstance(value, numpy.generic):
        return StrictArray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(item) for item in value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def _call(function, args, kwargs):
    out = kwargs.get("out")
    result = function(*_unwrap(args), **_unwrap(kwargs))
    if out is not None:  # numpy returned the host array behind ``out``: hand back the device object
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    return _wrap(result)


class _Device:
    id = 0

    def __repr__(self):
        return "<strict device 0>"


class StrictArray:
    """A device array: a NumPy array that refuses implicit conversion and mixing, as CuPy's does."""

    __slots__ = ("_host",)
    __array_priority__ = 100
    __hash__ = None
    device = _Device()

    def __init__(self, host):
        self._host = host

    # -- explicit transfer, the only way out
    def get(self):
        return self._host.copy()

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
                        "construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method in _UFUNC_METHODS and ufunc.__name__ not in _UFUNC_METHODS[method]:
            raise TypeError(f"CuPy's ufunc {ufunc.__name__} has no method {method!r}")
        return _call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs)

    # -- attributes and methods of the array, results kept on the device
    shape = property(lambda self: self._host.shape)
    dtype = property(lambda self: self._host.dtype)
    ndim = property(lambda self: self._host.ndim)
    size = property(lambda self: self._host.size)
    itemsize = property(lambda self: self._host.itemsize)
    nbytes = property(lambda self: self._host.nbytes)
    strides = property(lambda self: self._host.strides)
    flags = property(lambda self: self._host.flags)
    T = property(lambda self: StrictArray(self._host.T))  # noqa: N802 - NumPy's name

    def __getattr__(self, name):
        if name.startswith("__") or name in ("tofile", "tobytes", "dumps", "dump", "itemset"):
            raise AttributeError(name)
        value = getattr(self._host, name)
        if callable(value):
            return lambda *args, **kwargs: _call(value, args, kwargs)
        return _wrap(value)

    def __len__(self):
        return len(self._host)

    def __iter__(self):
        return (_wrap(row) for row in self._host)

    def __repr__(self):
        return f"strict_array({numpy.array2string(self._host, separator=', ')}, dtype={self.dtype})"

    def __float__(self):
        return float(self._host)

    def __int__(self):
        return int(self._host)

    def __bool__(self):
        return bool(self._host)

    def __complex__(self):
        return complex(self._host)

    def __getitem__(self, key):
        return _wrap(self._host[_unwrap(key)])

    def __setitem__(self, key, value):
        if isinstance(value, numpy.ndarray) and value.ndim and key == slice(None):
            self._host[:] = value  # the one copy from the host CuPy allows
            return
        self._host[_unwrap(key)] = _unwrap(value)

    def __copy__(self):
        return StrictArray(self._host.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._host.copy())

    def __reduce__(self):
        raise TypeError("a strict device array is not pickled implicitly: use .get()")


def _binary(op, reflected=False):
    def method(self, other):
        if not isinstance(other, (StrictArray, numpy.ndarray, numbers.Number, numpy.generic)):
            return NotImplemented
        left, right = (other, self) if reflected else (self, other)
        return _wrap(op(_unwrap(left), _unwrap(right)))
    return method


def _inplace(op):
    def method(self, other):
        op(self._host, _unwrap(other))
        return self
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "lshift", "rshift"):
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    setattr(StrictArray, f"__{_name}__", _binary(_op))
    setattr(StrictArray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(StrictArray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(StrictArray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    _op = getattr(operator, _name)
    setattr(StrictArray, f"__{_name}__", (lambda op: lambda self: _wrap(op(self._host)))(_op))


# The ufunc methods CuPy (12 and later) has, and for which ufuncs; NumPy has them all for all.
_UFUNC_METHODS = {"at": {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"},
                  "reduce": {"add", "multiply"}, "accumulate": {"add"}, "reduceat": {"add"}}


class _Ufunc:
    """A NumPy ufunc as CuPy has it: ``outer`` for all; ``at``, ``reduce``, ``accumulate`` and
    ``reduceat`` only for the ufuncs in :data:`_UFUNC_METHODS`."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, args, kwargs)

    def __getattr__(self, name):
        if name in _UFUNC_METHODS and self.__name__ not in _UFUNC_METHODS[name] or name not in (
                *_UFUNC_METHODS, "outer", "nin", "nout", "nargs", "identity"):
            raise AttributeError(f"CuPy's ufunc {self.__name__} has no attribute {name!r}")
        value = getattr(self._ufunc, name)
        if name == "at":
            return lambda target, *rest: value(_unwrap(target), *_unwrap(rest))
        return (lambda *a, **k: _call(value, a, k)) if callable(value) else value


class _Generator:
    """CuPy's ``Generator``: only the methods it has (no normal, uniform, permutation, shuffle, choice)."""

    def __init__(self, seed=None):
        self._host = numpy.random.default_rng(seed)

    def random(self, size=None, dtype=numpy.float64, out=None):
        return _call(self._host.random, (), {"size": size, "dtype": dtype, "out": out})

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        return _call(self._host.standard_normal, (), {"size": size, "dtype": dtype, "out": out})

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        return _wrap(self._host.integers(low, high, size=size, dtype=dtype, endpoint=endpoint))

    def standard_exponential(self, size=None, dtype=numpy.float64):
        return _wrap(self._host.standard_exponential(size=size, dtype=dtype))

    def exponential(self, scale=1.0, size=None):
        return _wrap(self._host.exponential(scale, size=size))

    def poisson(self, lam=1.0, size=None):
        return _wrap(self._host.poisson(lam, size=size))

    def beta(self, a, b, size=None, dtype=numpy.float64):
        return _wrap(self._host.beta(a, b, size=size).astype(dtype))


def _asarray(value, dtype=None, order=None):
    """The explicit host-to-device copy (a device array stays where it is)."""
    if isinstance(value, StrictArray):
        return value if dtype is None or value.dtype == dtype else StrictArray(value._host.astype(dtype))
    return StrictArray(numpy.array(_refuse_nested(value), dtype=dtype, order=order or "K"))


def _array(value, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(value, StrictArray):
        value = value._host
    return StrictArray(numpy.array(_refuse_nested(value), dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def _refuse_nested(value):
    if isinstance(value, (list, tuple)) and any(isinstance(item, StrictArray) for item in value):
        raise TypeError("a list holding device arrays is not an array: use xp.stack")
    return value


def _asnumpy(value):
    return value.get() if isinstance(value, StrictArray) else numpy.asarray(value)


def _get_array_module(*args):
    return xp if any(isinstance(arg, StrictArray) for arg in args) else numpy


class _Namespace(types.ModuleType):
    """A NumPy namespace seen through the wall: functions unwrap, refuse host arrays, and wrap."""

    _MISSING = frozenset({"asmatrix", "matrix", "recarray", "memmap", "save", "load", "savez",
                          "loadtxt", "savetxt", "genfromtxt", "fromfile", "frombuffer", "ndenumerate",
                          "nditer", "einsum_path"})

    def __init__(self, name, source, extra=None):
        super().__init__(name)
        self._source = source
        self._extra = extra or {}

    def __getattr__(self, name):
        if name in self._extra:
            return self._extra[name]
        if name in self._MISSING or name.startswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(self._source, name)
        if isinstance(value, numpy.ufunc):
            value = _Ufunc(value)
        elif isinstance(value, types.ModuleType):
            value = _Namespace(f"{self.__name__}.{name}", value)
        elif callable(value) and not isinstance(value, type):  # dtypes, finfo, constants stay NumPy's
            value = (lambda function: lambda *args, **kwargs: _call(function, args, kwargs))(value)
        setattr(self, name, value)  # looked up once: the next access finds it directly
        return value


_random = _Namespace("strict_cupy.random", types.SimpleNamespace(), {
    "default_rng": _Generator, "Generator": _Generator})

xp = _Namespace("strict_cupy", numpy, {
    "ndarray": StrictArray, "asarray": _asarray, "asanyarray": _asarray, "array": _array,
    "asnumpy": _asnumpy, "get_array_module": _get_array_module, "random": _random})
