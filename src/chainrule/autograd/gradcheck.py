"""Central finite differences in float64 against the engine's derivatives.

``gradcheck`` compares the full Jacobian from reverse mode (and, optionally, forward mode) with
``(f(x + ε) − f(x − ε)) / 2ε``; ``gradgradcheck`` does the same for the gradient itself, which checks
every op's backward under ``create_graph=True``. Both return True or raise naming the worst element.
"""

import numpy

from chainrule.autograd.forward import jvp
from chainrule.autograd.functional import grad_of
from chainrule.autograd.mode import enable_grad, no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import DTypeError, GradcheckError


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _numerical_jacobians(f, inputs, eps):
    """For each differentiable input: an array (outputs flattened) x (input elements)."""
    with no_grad():
        sizes = [o.size for o in _outputs(f(*inputs))]
    jacobians = []
    for x in inputs:
        if not (isinstance(x, Tensor) and x.requires_grad):
            jacobians.append(None)
            continue
        jac = numpy.zeros((sum(sizes), x.size))
        for k, index in enumerate(numpy.ndindex(x.shape)):
            original = x._data[index]
            values = []
            for step in (eps, -eps):
                x._data[index] = original + step
                with no_grad():
                    values.append(numpy.concatenate([numpy.asarray(o._data, dtype=numpy.float64).ravel()
                                                     for o in _outputs(f(*inputs))]))
            x._data[index] = original
            jac[:, k] = (values[0] - values[1]) / (2 * eps)
        jacobians.append(jac)
    return jacobians


def _reverse_jacobians(f, inputs):
    differentiable = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    with enable_grad():
        outputs = _outputs(f(*inputs))
    rows = []
    for o in outputs:
        for j in range(o.size):
            if not o.requires_grad:
                rows.append([numpy.zeros(x.size) for x in differentiable])
                continue
            seed = numpy.zeros(o.size, dtype=o.dtype)
            seed[j] = 1
            grads = grad_of([o], differentiable, [Tensor(seed.reshape(o.shape))], retain_graph=True,
                            allow_unused=True)
            rows.append([numpy.zeros(x.size) if g is None else numpy.asarray(g._data).ravel()
                         for g, x in zip(grads, differentiable)])
    return _by_input(inputs, [numpy.array([r[i] for r in rows]) for i in range(len(differentiable))])


def _forward_jacobians(f, inputs):
    positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor)]
    primals = [inputs[i] for i in positions]

    def call(*tensors):
        args = list(inputs)
        for i, t in zip(positions, tensors):
            args[i] = t
        return tuple(_outputs(f(*args)))

    jacobians = []
    for p, x in enumerate(primals):
        if not x.requires_grad:
            continue
        columns = []
        for index in numpy.ndindex(x.shape):
            tangents = [Tensor(numpy.zeros_like(t._data)) for t in primals]
            tangents[p]._data[index] = 1
            _, out_tangents = jvp(call, primals, tangents)
            columns.append(numpy.concatenate([numpy.asarray(t._data).ravel() for t in out_tangents]))
        jacobians.append(numpy.array(columns).T)
    return _by_input(inputs, jacobians)


def _by_input(inputs, jacobians):
    it = iter(jacobians)
    return [next(it) if isinstance(x, Tensor) and x.requires_grad else None for x in inputs]


def _compare(kind, analytical, numerical, inputs, atol, rtol):
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if a is None:
            continue
        a = a.reshape(n.shape)
        error = numpy.abs(a - n) - (atol + rtol * numpy.abs(n))
        if not numpy.all(error <= 0) or not numpy.all(numpy.isfinite(a) == numpy.isfinite(n)):
            error = numpy.where(numpy.isnan(error), numpy.inf, error)
            row, col = numpy.unravel_index(numpy.argmax(error), error.shape)
            element = [int(k) for k in numpy.unravel_index(col, inputs[i].shape)]
            raise GradcheckError(
                f"{kind}: d(output element {int(row)})/d(input {i}{element}) is {float(a[row, col])!r} "
                f"but finite differences give {float(n[row, col])!r} (atol={atol}, rtol={rtol})")


def _check_dtypes(inputs):
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != numpy.float64:
            raise DTypeError(f"gradcheck: input {i} is {x.dtype}; finite differences need float64 "
                             "(use x.double())")


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, check_forward=False):
    """Check reverse mode (and forward mode if asked) against central differences.

    ``inputs`` is a tuple of arguments; the float64 tensors among them that require grad are checked.
    """
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    _check_dtypes(inputs)
    numerical = _numerical_jacobians(f, inputs, eps)
    _compare("gradcheck (reverse mode)", _reverse_jacobians(f, inputs), numerical, inputs, atol, rtol)
    if check_forward:
        _compare("gradcheck (forward mode)", _forward_jacobians(f, inputs), numerical, inputs, atol,
                 rtol)
    return True


def gradgradcheck(f, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the second derivatives: gradcheck of ``x -> vjp(f, x)(v)`` for a fixed random ``v``."""
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    _check_dtypes(inputs)
    if grad_outputs is None:
        rng = numpy.random.default_rng(seed)
        with no_grad():
            grad_outputs = [Tensor(rng.standard_normal(o.shape)) for o in _outputs(f(*inputs))]

    def first_derivative(*args):
        with enable_grad():
            outs = _outputs(f(*args))
            targets = [x for x in args if isinstance(x, Tensor) and x.requires_grad]
            pairs = [(o, v) for o, v in zip(outs, grad_outputs) if o.requires_grad]
            if not pairs:
                return tuple(Tensor(numpy.zeros(x.shape)) for x in targets)
            grads = grad_of([o for o, _ in pairs], targets, [v for _, v in pairs],
                            create_graph=True, allow_unused=True)
        return tuple(Tensor(numpy.zeros(x.shape)) if g is None else g for g, x in zip(grads, targets))

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol)
