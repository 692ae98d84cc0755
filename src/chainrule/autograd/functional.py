"""Function transforms in the style of JAX and ``torch.func``: grad, value_and_grad, vjp, hvp, jacobian.

Each builds on the one engine: ``run_backward`` for reverse mode and ``forward.jvp`` for forward mode.
"""

from chainrule.autograd.engine import run_backward
from chainrule.autograd.forward import Alias
from chainrule.autograd.mode import enable_grad
from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module
from chainrule.errors import GraphError, ShapeError


def grad_of(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
            allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated in ``.grad``.

    ``grad_outputs`` holds d(loss)/d(output) for each output (may be None for one-element outputs).
    This is ``chainrule.autograd.grad``.
    """
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise GraphError(f"grad: input {i} does not require grad: create it with requires_grad=True "
                             "(or call .requires_grad_() on it) before computing the outputs")
    if allow_unused:  # an output that depends on no input contributes nothing (zeros, as in JAX)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            return (None,) * len(inputs)
        outputs, grad_outputs = [o for o, _ in pairs], [g for _, g in pairs]
    return tuple(run_backward(outputs, grad_outputs, retain_graph=retain_graph,
                              create_graph=create_graph, inputs=inputs, allow_unused=allow_unused))


def _differentiable_args(args, argnums):
    """Copies of the chosen arguments that require grad and stay linked to their originals."""
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    nested = False
    for n in numbers:
        x = args[n] if isinstance(args[n], Tensor) else Tensor(args[n])
        nested = nested or x.requires_grad
        if x.requires_grad:
            args[n] = Alias()(x)
        elif x._tangent is not None:  # inside cr.jvp (forward over reverse): the copy keeps the tangent
            args[n] = Alias()(x)
            args[n].requires_grad = True
        else:
            args[n] = Tensor(x._data, requires_grad=True)
    return args, numbers, nested


def value_and_grad(f, argnums=0):
    """A function returning ``(f(*args), df/dargs[argnums])`` for a scalar-valued ``f``."""

    def wrapped(*args):
        with enable_grad():
            args_, numbers, nested = _differentiable_args(args, argnums)
            value = f(*args_)
            if value.size != 1:
                raise ShapeError(f"grad: f must return one element, it returned shape {value.shape}")
            grads = grad_of([value], [args_[n] for n in numbers], create_graph=nested,
                            allow_unused=True)
        grads = tuple(Tensor._from_op(args_[n]._data * 0) if g is None else g
                      for g, n in zip(grads, numbers))
        return value, grads[0] if isinstance(argnums, int) else grads

    return wrapped


def grad(f, argnums=0):
    """The gradient of a scalar-valued ``f`` as a function: ``cr.grad(f)(x)``. Nests."""
    value_and_grad_f = value_and_grad(f, argnums)
    return lambda *args: value_and_grad_f(*args)[1]


def vjp(f, *primals):
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` gives one gradient per primal."""
    with enable_grad():
        args, numbers, _ = _differentiable_args(primals, tuple(range(len(primals))))
        outputs = f(*args)

    def vjp_fn(cotangents):
        outs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        cots = list(cotangents) if isinstance(cotangents, (tuple, list)) else [cotangents]
        grads = grad_of(outs, args, cots, retain_graph=True, allow_unused=True)
        return tuple(Tensor._from_op(a._data * 0) if g is None else g for g, a in zip(grads, args))

    return outputs, vjp_fn


def hvp(f, primals, tangents):
    """Hessian-vector products of a scalar ``f``: one ``H @ v`` per primal (reverse over reverse)."""
    primals = tuple(primals) if isinstance(primals, (tuple, list)) else (primals,)
    tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (tangents,)
    with enable_grad():
        args, _, _ = _differentiable_args(primals, tuple(range(len(primals))))
        value = f(*args)
        grads = grad_of([value], args, create_graph=True, allow_unused=True)
        inner = None
        for g, v in zip(grads, tangents):
            if g is not None:
                term = (g * v).sum()
                inner = term if inner is None else inner + term
        if inner is None or not inner.requires_grad:
            return tuple(Tensor._from_op(a._data * 0) for a in args)
        products = grad_of([inner], args, allow_unused=True)
    return tuple(Tensor._from_op(a._data * 0) if p is None else p for p, a in zip(products, args))


def jacobian(f, argnums=0):
    """The Jacobian as a function: its value has shape ``output.shape + input.shape``.

    Built row by row from vector-Jacobian products, one backward pass per output element.
    """

    def wrapped(*args):
        with enable_grad():
            args_, numbers, _ = _differentiable_args(args, argnums)
            out = f(*args_)
            inputs = [args_[n] for n in numbers]
            xp = array_module(out._data)
            jacobians = [xp.zeros((out.size,) + x.shape, dtype=x.dtype) for x in inputs]
            for j in range(out.size):
                basis = xp.zeros(out.size, dtype=out.dtype)
                basis[j] = 1
                grads = grad_of([out], inputs, [Tensor(basis.reshape(out.shape))], retain_graph=True,
                                allow_unused=True)
                for jac, g in zip(jacobians, grads):
                    if g is not None:
                        jac[j] = g._data
        result = tuple(Tensor(jac.reshape(out.shape + x.shape)) for jac, x in zip(jacobians, inputs))
        return result[0] if isinstance(argnums, int) else result

    return wrapped
