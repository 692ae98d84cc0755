"""einsum: a sum of products over named axes, ``einsum("bij,bjk->bik", a, b)``.

Being linear in each operand, its rules are einsums too. With sₖ the subscripts of operand k and o
the output's, the gradient with respect to operand k is the einsum of g (subscripts o) with the other
operands, written out to sₖ:

    ∂L/∂xₖ = einsum("o,s₁,…(not k)…->sₖ", g, x₁, …)

A letter of sₖ found nowhere else was summed out of xₖ alone: the gradient is constant along that
axis, so it is left out of the einsum and broadcast back. The tangent is the sum over k of the einsum
with xₖ replaced by its tangent. ``...`` stands for the leading axes that broadcast, as in NumPy.
"""

import string

from chainrule.autograd.op import Op, needs_grad
from chainrule.errors import ShapeError
from chainrule.ops.shape import broadcast_to, expand_dims


def parse(equation, shapes):
    """(the operands' subscripts, the output's) with ``...`` written out as capital letters."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"einsum: the equation {equation!r} names {len(terms)} operands, got {len(shapes)}")
    spare = [c for c in string.ascii_uppercase if c not in equation]
    widest = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            widest = max(widest, len(shape) - len(term.replace("...", "")))
    pool = spare[:widest]
    written = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            extra = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", "".join(pool[widest - extra:]))  # right-aligned: broadcasting
        if len(term) != len(shape) or not term.isalpha():
            raise ShapeError(f"einsum: subscripts {term!r} for an operand of shape {tuple(shape)}: give one "
                             "letter per axis (or ... for the leading ones)")
        written.append(term)
    sizes = {}
    for k, (term, shape) in enumerate(zip(written, shapes)):
        for letter, size in zip(term, shape):
            first = sizes.setdefault(letter, (size, k))
            if first[0] != size and 1 not in (first[0], size):
                raise ShapeError(f"einsum: {letter!r} is an axis of size {first[0]} in operand {first[1]} "
                                 f"and of size {size} in operand {k} of {equation!r}; one letter, one size")
    if arrow:
        output = output.replace("...", "".join(pool))
    else:  # NumPy's and PyTorch's implicit form: the broadcast axes, then the letters used once, sorted
        letters = "".join(written)
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in pool)
        output = "".join(pool) + "".join(once)
    return written, output


class Einsum(Op):
    def __init__(self, subscripts, output):
        self.subscripts, self.output_subscripts = list(subscripts), output

    @property
    def equation(self):
        return ",".join(self.subscripts) + "->" + self.output_subscripts

    def forward(self, *operands):
        return self.xp.einsum(self.equation, *operands)

    def vjp(self, g):
        return tuple(self._gradient(k, g) if needs_grad(x) else None for k, x in enumerate(self.inputs))

    def _gradient(self, k, g):
        own = self.subscripts[k]
        if len(set(own)) != len(own):
            raise NotImplementedError(f"einsum: the gradient of an operand with a repeated letter ({own!r}, "
                                      "a diagonal) is not implemented; use diagonal or trace for it")
        others = [s for i, s in enumerate(self.subscripts) if i != k]
        seen = set(self.output_subscripts).union(*others)
        target = "".join(c for c in own if c in seen)
        operands = [x for i, x in enumerate(self.inputs) if i != k]
        grad = Einsum([self.output_subscripts] + others, target)(g, *operands)
        if target == own:
            return grad
        for axis, letter in enumerate(own):  # summed out of this operand alone: constant along it
            if letter not in seen:
                grad = expand_dims(grad, axis)
        return broadcast_to(grad, self.inputs[k].shape)

    def jvp(self, *tangents):
        total = None
        for k, tangent in enumerate(tangents):
            if tangent is None:
                continue
            operands = [tangent if i == k else x for i, x in enumerate(self.inputs)]
            term = Einsum(self.subscripts, self.output_subscripts)(*operands)
            total = term if total is None else total + term
        return total


def einsum(equation, *operands):
    subscripts, output = parse(equation, [x.shape for x in operands])
    return Einsum(subscripts, output)(*operands)
