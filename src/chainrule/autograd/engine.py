"""The backward pass: reverse-mode differentiation over the recorded graph.

Iterative throughout (a chain of 100,000 ops is fine): the nodes reachable from the outputs are
collected with an explicit stack and sorted by creation order, newest first, so each node's ``vjp``
runs once, after every consumer of its output has contributed its gradient.
"""

from operator import attrgetter

from chainrule.autograd.anomaly import run_vjp
from chainrule.autograd.mode import set_grad_enabled, shared, state
from chainrule.autograd.tensor import Tensor
from chainrule.backend import array_module
from chainrule.errors import GraphError, ShapeError


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``inputs=None`` every leaf that requires grad accumulates into ``.grad`` (``backward``);
    otherwise the gradients of ``inputs`` are returned and no ``.grad`` is touched (``autograd.grad``).
    """
    seeds = [_seed(out, g) for out, g in zip(outputs, grad_outputs)]
    wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
    found = [None] * (0 if inputs is None else len(inputs))
    grads = {}  # node -> gradient of that node's output, summed over its consumers
    delivered = set()  # ids of the arrays already given to a leaf as its .grad in this pass

    checking = state.anomaly and state.anomaly_check_nan  # detect_anomaly(): check every vjp
    with set_grad_enabled(create_graph):
        for out, seed in zip(outputs, seeds):
            if out._node is None:
                _deliver_to_leaf(out, seed, wanted, found, create_graph, delivered)
            else:
                _accumulate(grads, out._node, seed)
        order = _topological_order([out._node for out in outputs if out._node is not None])
        # A node's output is held only by its consumers' inputs, which are released as we go:
        # keep every output alive until its own node has run.
        alive = [node._output() for node in order]
        for node in order:
            grad = grads.pop(node, None)
            if grad is None:
                if not retain_graph:
                    node.release()
                continue
            output = node._output()
            if output is not None:
                if output._hooks:
                    grad = _run_hooks(output, grad)
                if wanted is None:
                    if output._retains_grad:
                        output.grad = grad if output.grad is None else output.grad + grad
                elif id(output) in wanted:
                    _store(found, wanted[id(output)], grad)
            if node.changes != shared.changes:  # something changed in place since this node was made
                _check_unchanged(node)
            input_grads = run_vjp(node, grad, create_graph) if checking else node.backward(grad, create_graph)
            for x, g in zip(node.inputs, input_grads):
                if g is None or not isinstance(x, Tensor) or not x.requires_grad:
                    continue
                if g._data.shape != x._data.shape:
                    g = _unbroadcast(g, x._data.shape, node)
                producer = x._node
                if producer is None:
                    _deliver_to_leaf(x, g, wanted, found, create_graph, delivered)
                else:
                    previous = grads.get(producer)
                    grads[producer] = g if previous is None else previous + g
            if not retain_graph:
                node.release()
        del alive

    if inputs is None:
        return None
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None and not allow_unused:
            raise GraphError(f"input {i} (shape {x.shape}) was not used to compute the outputs: "
                             "pass allow_unused=True to get None for it")
    return found


def _seed(out, gradient):
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise GraphError("backward of a tensor that does not require grad: did a leaf get "
                         "requires_grad=True, and is the computation outside no_grad()?")
    if out._node is not None and out._node.released:
        raise GraphError(_FREED)
    if gradient is None:
        if out.size != 1:
            raise GraphError(f"backward of a non-scalar tensor of shape {out.shape} needs a gradient: "
                             "call .backward(gradient) with a tensor of that shape, or reduce it "
                             "first (e.g. loss.sum())")
        return Tensor._from_op(array_module(out._data).ones_like(out._data))
    gradient = gradient if isinstance(gradient, Tensor) else Tensor(gradient)
    if gradient.shape != out.shape:
        raise ShapeError(f"backward: gradient of shape {gradient.shape} for an output of shape "
                         f"{out.shape}")
    if gradient.dtype != out.dtype:  # a float64 seed must not turn a float32 backward into float64
        gradient = Tensor._from_op(gradient._data.astype(out.dtype))
    return gradient


_FREED = ("backward through a graph that was already freed: pass retain_graph=True to the first "
          "backward() if you need to go through the graph again")


def _topological_order(roots):
    """Every node reachable from ``roots``, each before the nodes that produced its inputs.

    A node is always created after the nodes of its inputs, so its sequence number is larger:
    sorting the reachable nodes by decreasing sequence number is a topological order, found
    without recursion and without a post-order walk.
    """
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        if node.released:
            raise GraphError(_FREED)
        for x in node.inputs:
            if isinstance(x, Tensor):
                producer = x._node
                if producer is not None and producer not in seen:
                    seen.add(producer)
                    stack.append(producer)
    return sorted(seen, key=_sequence, reverse=True)


_sequence = attrgetter("sequence")


def _accumulate(grads, node, g):
    previous = grads.get(node)
    grads[node] = g if previous is None else previous + g


def _store(found, index, g):
    found[index] = g if found[index] is None else found[index] + g


def _deliver_to_leaf(leaf, g, wanted, found, create_graph, delivered):
    g = _run_hooks(leaf, g)
    if g.dtype != leaf.dtype:
        g = g.astype(leaf.dtype)
    if wanted is not None:
        if id(leaf) in wanted:
            _store(found, wanted[id(leaf)], g)
        return
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g
        else:  # a leaf owns its .grad: never a read-only broadcast view, a slice, or another leaf's
            data = g._data
            if not data.flags.writeable or data.base is not None or id(data) in delivered:
                data = data.copy()
            delivered.add(id(data))
            leaf.grad = Tensor._from_op(data)
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:  # a new array: the old one may be shared with a caller, never write into it
        leaf.grad = Tensor._from_op(leaf.grad._data + g._data)


def _check_unchanged(node):
    """Refuse to differentiate through an input that was changed in place after the node used it.

    Versions only grow, so their sum over the inputs changes exactly when one of them changed.
    """
    tensors = [x for x in node.inputs if isinstance(x, Tensor)]
    if sum(x._version for x in tensors) != node.versions:
        shapes = ", ".join(str(x.shape) for x in tensors)
        raise GraphError(
            f"{node.label}: one of its inputs (shapes {shapes}) was changed in place (an optimiser step, "
            "+=, item assignment or load_state_dict) after the forward pass used it, so its gradient "
            "would be wrong: run backward before changing it, or compute the forward pass again")


def _run_hooks(tensor, g):
    if tensor._hooks:
        for hook in tuple(tensor._hooks):
            replaced = hook(g)
            if replaced is not None:
                g = replaced
    return g


def _unbroadcast(g, shape, node):
    from chainrule import ops

    try:
        return ops.sum_to(g, shape)
    except ValueError:
        raise ShapeError(f"{node.label}: its backward gave a gradient of shape {g.shape} for an input "
                         f"of shape {shape}") from None

