"""The Tensor methods of PyTorch's further maths, shape and sampling functions: ``x.erf()``,
``x.flip(0)``, ``scores.masked_fill(mask, -inf)``, ``probs.multinomial(1)``.

Each method is the top-level function of its name (in :mod:`chainrule.maths`,
:mod:`chainrule.shape_functions`, :mod:`chainrule.sampling` or :mod:`chainrule.linalg`) called with
the tensor first, so the two spellings cannot drift apart; :func:`attach` makes them when those
modules exist (they import Tensor).
The in-place forms change the tensor as the other in-place methods do.
"""

MATHS = ("tan", "asin", "acos", "atan", "atan2", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh",
         "expm1", "erf", "erfc", "log2", "log10", "exp2", "lerp", "frac", "fmod", "nan_to_num", "clamp_min",
         "clamp_max", "true_divide", "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isclose",
         "allclose", "logical_xor", "count_nonzero", "addcmul", "addcdiv", "nansum", "nanmean")
SHAPES = ("flip", "fliplr", "flipud", "roll", "tril", "triu", "diag", "tile", "repeat_interleave",
          "narrow", "unbind", "index_select", "masked_fill", "masked_select", "nonzero", "argwhere",
          "argsort", "unique", "bincount", "outer", "ger", "mv", "addmm", "trace", "diff", "amax", "amin",
          "median", "index_add", "scatter_add", "kthvalue")
SAMPLING = ("multinomial", "bernoulli")
LINALG = ("inverse", "det", "logdet", "slogdet", "pinverse")


def _method(function):
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = function.__name__
    method.__doc__ = function.__doc__
    return method


def attach(cls, maths, shapes, sampling, linalg):
    """Give ``cls`` (Tensor) one method per function named above, and the in-place forms."""
    from chainrule import ops  # they exist by now: Tensor is made
    cls.svd = _method(linalg.svd_reduced)  # torch.svd's (U, S, V)
    for module, names in ((maths, MATHS), (shapes, SHAPES), (sampling, SAMPLING), (linalg, LINALG)):
        for name in names:
            setattr(cls, name, _method(getattr(module, name)))

    def masked_fill_(self, mask, value):
        """``masked_fill`` in place."""
        return self._replace_by(lambda x: shapes.masked_fill(x, mask, value), "masked_fill_()")

    def tril_(self, diagonal=0):
        return self._replace_by(lambda x: shapes.tril(x, diagonal), "tril_()")

    def triu_(self, diagonal=0):
        return self._replace_by(lambda x: shapes.triu(x, diagonal), "triu_()")

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 1 (probability ``p``, a number or a tensor of probabilities) or 0."""
        chances = p if hasattr(p, "shape") else self.new_full(self.shape, p, dtype=self.dtype)
        return self._overwrite(sampling.bernoulli(chances, generator=generator)._data.astype(self.dtype),
                               "bernoulli_()")

    for method in (masked_fill_, tril_, triu_, bernoulli_):
        setattr(cls, method.__name__, method)
    for name in ("index_add", "scatter_add", "addcmul", "addcdiv", "clamp_min", "clamp_max", "exp", "log",
                 "sqrt", "abs", "neg", "square", "sigmoid", "tanh", "relu", "sin", "cos", "floor", "ceil",
                 "round", "trunc", "reciprocal", "pow", "lerp", "fmod", "remainder", "nan_to_num"):
        if not hasattr(cls, name + "_"):
            setattr(cls, name + "_", _in_place(name))

    def type_as(self, other):
        """This tensor in ``other``'s dtype."""
        return self.type(other.dtype)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self, other)``)."""
        return ops.where(condition._data if hasattr(condition, "_data") else condition, self, other)

    def stride(self, dim=None):
        """How many elements apart neighbours along each dim are in memory (NumPy's strides in elements)."""
        steps = tuple(s // self._data.itemsize for s in self._data.strides)
        return steps if dim is None else steps[dim]

    def unflatten(self, dim, sizes):
        """Dim ``dim`` split into ``sizes`` (one of them may be -1)."""
        dim %= self.ndim
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    for method in (type_as, where, stride, unflatten):
        setattr(cls, method.__name__, method)
    cls.mT = property(lambda self: ops.swapaxes(self, -1, -2), doc="The transpose of the last two dims.")


def _in_place(name):
    """``x.exp_()`` and company: ``x`` becomes ``x.exp()`` in place, recorded as the other in-place
    methods (a non-leaf takes the result's place in the graph)."""
    def method(self, *args, **kwargs):
        return self._replace_by(lambda x: getattr(x, name)(*args, **kwargs), f"{name}_()")

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place."
    return method
