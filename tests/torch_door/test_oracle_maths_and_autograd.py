"""Maths, in-place changes, ``.data``/``.grad`` and grad modes as PyTorch code uses them, against torch (#12).

See ``torch_oracle``: each idiom is written once; ``m.T`` is ``torch`` or ``chainrule``.
"""

from torch_oracle import A, B, idiom_test, registry

IDIOMS, idiom = registry()


# ---------------------------------------------------------------- maths
@idiom
def products_and_elementwise(m):
    x, y = m.T.tensor(A), m.T.tensor(B)
    return (
        x.mm(y.t()),
        x.matmul(y.t()),
        x @ y.t(),
        m.T.mm(x, y.t()),
        m.T.bmm(x[None], y.t()[None]),
        x.pow(2),
        x.exp(),
        (x + 1).log(),
        x.abs(),
        x.abs().sqrt(),
        x.clamp(min=0),
        x.clamp(-0.1, 0.1),
        x.clamp(max=0.2),
        x.sign(),
        x.sigmoid(),
        x.tanh(),
        x.relu(),
        x.sin(),
        x.cos(),
        x.neg(),
        x.reciprocal(),
        x.square(),
        x.floor(),
        x.ceil(),
        x.round(),
        (x.abs() + 1).rsqrt(),
        x.add(y, alpha=2),
        x.sub(y, alpha=0.5),
    )


@idiom
def clamp_to_tensor_bounds(m):
    x, low = m.T.tensor(A, requires_grad=True), m.T.tensor(B)
    y = x.clamp(min=low)
    (y * m.T.tensor(B)).sum().backward()
    return y, m.T.clamp(x, max=low), x.clamp(low, low + 0.5), x.grad


@idiom
def comparisons(m):
    x, y = m.T.tensor(A), m.T.tensor(B)
    return (
        x.eq(y),
        x.ne(0),
        x.lt(y),
        x.le(0.1),
        x.gt(y),
        x.ge(0),
        x == y,
        x != 0.5,
        m.T.eq(x, y),
        m.T.ne(x, 0),
        m.T.lt(x, y),
        m.T.le(x, y),
        m.T.gt(x, 0),
        m.T.ge(x, y),
        m.T.equal(x, x),
        m.T.equal(x, y),
    )


@idiom
def conversions(m):
    x = m.T.tensor(A * 10)
    return (
        x.float(),
        x.double(),
        x.long(),
        x.int(),
        x.bool(),
        x.half().dtype,
        x.sum().item(),
        x.tolist(),
        x[0, 0].item(),
        type(x.long()[0, 0].item()).__name__,
        x.numpy().dtype.name,
        int(x[1, 1]),
        float(x[0, 0]),
    )


# ---------------------------------------------------------------- in place, .data and .grad
@idiom
def in_place_arithmetic(m):
    x, y = m.T.tensor(A), m.T.tensor(B)
    x.add_(y)
    x.sub_(1)
    x.mul_(2)
    x.div_(4)
    x.add_(y, alpha=3)
    return (
        x,
        x.clone().zero_(),
        x.clone().fill_(2.5),
        x.clone().copy_(y),
        x.clone().clamp_(-0.1, 0.1),
        x.clone().clamp_(min=0),
        x.add_(1) is x,
        x.requires_grad_() is x,
    )


@idiom
def random_fills_have_their_moments(m):
    m.T.manual_seed(0)
    x = m.T.zeros(20000).normal_(2, 3)
    u = m.T.zeros(20000).uniform_(-1, 1)
    return round(float(x.mean())), round(float(x.std())), round(float(u.min()), 1), round(float(u.max()), 1)


@idiom
def in_place_float_into_int_is_refused(m):
    return m.T.tensor([1, 2]).add_(0.5)


@idiom
def in_place_changed_input_of_a_saved_op_is_refused(m):
    a = m.T.tensor(A, requires_grad=True)
    b = a.sigmoid()
    c = b * b
    b.mul_(2)
    c.sum().backward()
    return a.grad


@idiom
def in_place_on_a_non_leaf_nobody_saved(m):
    a = m.T.tensor(A, requires_grad=True)
    b = a * 2
    b.add_(1)
    (b * b).sum().backward()
    return a.grad


@idiom
def in_place_on_a_leaf_that_requires_grad_is_refused(m):
    return m.T.tensor(A, requires_grad=True).add_(1)


@idiom
def in_place_on_a_leaf_under_no_grad(m):
    a = m.T.tensor(A, requires_grad=True)
    with m.T.no_grad():
        a.add_(1)
        a *= 2
        a[0, 0] = 5
    return a.detach(), a.requires_grad, a.is_leaf


@idiom
def data_and_grad_by_hand(m):
    w = m.T.tensor(A, requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.1 * w.grad.data
    w.grad.data.zero_()
    p = m.nn.Linear(3, 4).weight
    p.data.normal_(0.0, 0.02)
    return w.detach(), w.grad, w.data.requires_grad, p.requires_grad, abs(float(p.detach().mean())) < 0.1


@idiom
def gradients_accumulate_and_retain(m):
    w = m.T.tensor(A, requires_grad=True)
    before = w.grad is None
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    y = w * 2
    y.retain_grad()
    y.sum().backward()
    return before, w.grad, y.grad, y.is_leaf, y.requires_grad, y.grad_fn is not None, w.grad_fn is None


@idiom
def backward_twice_is_refused(m):
    y = m.T.tensor(A, requires_grad=True).exp().sum()
    y.backward()
    y.backward()


@idiom
def backward_of_a_non_scalar_is_refused(m):
    (m.T.tensor(A, requires_grad=True) * 2).backward()


@idiom
def second_derivatives(m):
    w = m.T.tensor(A, requires_grad=True)
    (g,) = m.T.autograd.grad((w**3).sum(), w, create_graph=True)
    (g2,) = m.T.autograd.grad(g.sum(), w)
    c = w.clone()
    return g, g2, w.detach().requires_grad, c.requires_grad, c.is_leaf


# ---------------------------------------------------------------- grad modes
@idiom
def set_grad_enabled_as_a_call_and_a_context(m):
    w = m.T.tensor(A, requires_grad=True)
    m.T.set_grad_enabled(False)
    y = w * 2
    off = m.T.is_grad_enabled()
    m.T.set_grad_enabled(True)
    with m.T.set_grad_enabled(False):
        z = w * 2
        with m.T.enable_grad():
            e = w * 2
    with m.T.inference_mode():
        i = w * 2
        inside = m.T.is_inference_mode_enabled()
    return (
        y.requires_grad,
        off,
        z.requires_grad,
        e.requires_grad,
        i.requires_grad,
        inside,
        m.T.is_grad_enabled(),
    )


@idiom
def grad_modes_as_decorators(m):
    w = m.T.tensor(A, requires_grad=True)

    @m.T.set_grad_enabled(False)
    def f(v):
        return v * 2

    @m.T.no_grad()
    def g(v):
        return v * 2

    @m.T.inference_mode()
    def h(v):
        return v * 2

    return f(w).requires_grad, g(w).requires_grad, h(w).requires_grad, m.T.is_grad_enabled()


@idiom
def grad_fn_names_as_tutorials_print_them(m):
    """``print(y.grad_fn)`` and a tensor's ``grad_fn=<...>`` name each node as PyTorch does."""
    x, y = m.T.tensor(A, requires_grad=True), m.T.tensor(B)
    labels = m.T.tensor([0, 1, 2])
    bits = y.abs().clamp(0, 1)
    made = [x + 1, x * y, x / 2, 1 - x, -x, x ** 2, (x + 1) ** y, x @ y.t(), x.t(), x.T, x.transpose(0, 1),
            x.view(-1), x.reshape(-1), x.flatten(), x[0], x[1:], x[:, 0], x[m.T.tensor([0, 2])],
            x.unsqueeze(0), x.unsqueeze(0).squeeze(), x.sum(), x.sum(1), x.mean(), x.mean(1), x.std(),
            x.var(), x.max(), x.max(1)[0], x.exp(), x.abs().log(), x.abs().sqrt(), x.abs().log1p(),
            x.clamp(0, 1), x.double(), x.clone(), x.cumsum(0), x.logsumexp(1), x.prod(), x.norm(),
            x.split(2)[0], m.T.cat([x, x]), m.T.stack([x, x]), m.T.maximum(x, y), m.T.where(y > 0, x, y),
            x @ y[0], x[0] @ y[0], m.F.relu(x), m.T.sigmoid(x), m.T.tanh(x), m.F.leaky_relu(x),
            m.F.softplus(x), m.F.gelu(x), m.F.elu(x), m.F.softmax(x, 1), m.F.log_softmax(x, 1),
            m.F.linear(x, y), m.F.linear(x, y, y[:, 0]), m.F.pad(x, (1, 1)), m.F.mse_loss(x, y),
            m.F.cross_entropy(x, labels), m.F.nll_loss(m.F.log_softmax(x, 1), labels),
            m.F.binary_cross_entropy_with_logits(x, bits), m.F.binary_cross_entropy(m.T.sigmoid(x), bits),
            m.nn.Linear(4, 2)(x)]
    names = [t.grad_fn.name() for t in made]
    prints = [repr(t.grad_fn).split(" object at ")[0] for t in made]
    # one step down the graph (PyTorch's own graph below a Linear has a transpose node: not walked)
    walk = m.nn.Linear(4, 2)(x).sum().grad_fn.next_functions[0][0]
    return names, prints, repr(x.sum()).split("grad_fn=")[1], walk.name()


test_idiom_agrees_with_torch = idiom_test(IDIOMS)
