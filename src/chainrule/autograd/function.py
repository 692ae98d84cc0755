"""``Function``: your own differentiable operation, written as PyTorch's tutorials write one.

    class LegendrePolynomial3(cr.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    y = LegendrePolynomial3.apply(x)

``apply`` runs ``forward`` without recording a graph and makes one node of the graph whose vjp is
``backward``: written in Tensor operations, it gives gradients of gradients too, because
``saved_tensors`` hands back the inputs themselves. An optional ``jvp(ctx, *tangents)`` gives
forward mode. ``forward`` returns one tensor.
"""

from chainrule.autograd.mode import no_grad
from chainrule.autograd.op import Op
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors, ``needs_input_grad``, any attribute."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved, self._originals = (), {}

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        """The saved tensors; an input of ``apply`` comes back as itself (in the graph)."""
        return tuple(self._originals.get(id(t), t) for t in self._saved)

    def mark_non_differentiable(self, *tensors):
        """Accepted for PyTorch's code: such an output's gradient is None's zero here anyway."""

    def set_materialize_grads(self, value):
        """Accepted for PyTorch's code: gradients always arrive as tensors here."""


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, grad_output)``; call ``apply``."""

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("define forward(ctx, *args) as a @staticmethod")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("define backward(ctx, grad_output) as a @staticmethod")

    @classmethod
    def apply(cls, *args):
        return _FunctionNode(cls, args)(*args)


class _FunctionNode(Op):
    def __init__(self, function, args):
        self.function, self.args = function, args
        self.ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))

    @property
    def label(self):
        return self.function.__name__

    def name(self):
        return self.function.__name__ + "Backward"  # PyTorch's name of a custom Function's node

    def forward(self, *arrays):
        inside = [Tensor._from_op(a._data) if isinstance(a, Tensor) else a for a in self.args]
        self.ctx._originals = {id(w): a for w, a in zip(inside, self.args) if isinstance(a, Tensor)}
        with no_grad():
            out = self.function.forward(self.ctx, *inside)
        if not isinstance(out, Tensor):
            raise ChainruleError(f"{self.function.__name__}.forward returned {type(out).__name__}; return "
                                 "one tensor (several outputs are not supported by Function here)")
        return out._data

    def vjp(self, grad):
        grads = self.function.backward(self.ctx, grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) < len(self.args):  # PyTorch requires one per input; trailing Nones may be left out
            grads = grads + (None,) * (len(self.args) - len(grads))
        if len(grads) != len(self.args):
            raise ChainruleError(f"{self.function.__name__}.backward returned {len(grads)} gradients for "
                                 f"{len(self.args)} inputs of forward; return one per input (None for none)")
        return tuple(None if not isinstance(a, Tensor) else g for a, g in zip(self.args, grads))

    def jvp(self, *tangents):
        rule = getattr(self.function, "jvp", None)
        if rule is None:
            raise NotImplementedError(f"{self.function.__name__} has no forward-mode rule: define "
                                      "jvp(ctx, *tangents) as a @staticmethod")
        return rule(self.ctx, *tangents)
