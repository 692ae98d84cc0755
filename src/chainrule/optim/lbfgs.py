"""L-BFGS: a quasi-Newton method that builds its curvature model from the last few steps."""

import math

from chainrule.autograd.mode import enable_grad
from chainrule.autograd.tensor import mark_changed
from chainrule.backend import array_module
from chainrule.optim.optimizer import Optimizer


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal and Wright, *Numerical Optimization*, algorithm 7.4), closure-based.

    From the last m pairs sₖ = θₖ₊₁ − θₖ, yₖ = ∇fₖ₊₁ − ∇fₖ, the two-loop recursion applies the
    inverse-Hessian approximation Hₖ to the gradient without storing it::

        q ← −∇f;  for k newest → oldest:  αₖ = ρₖ sₖᵀq,  q ← q − αₖ yₖ       (ρₖ = 1 / yₖᵀsₖ)
        r ← γ q  (γ = yᵀs / yᵀy of the newest pair)
        for k oldest → newest:  β = ρₖ yₖᵀr,  r ← r + sₖ (αₖ − β)
        θ ← θ + t r

    with t = lr (the first step of a run is scaled by min(1, 1/‖∇f‖₁)), or t from a line search that
    meets the strong Wolfe conditions (``line_search_fn="strong_wolfe"``). One ``step(closure)`` runs
    up to ``max_iter`` iterations, as in PyTorch, whose keywords and stopping tests this follows.

    Args:
        lr: step length (1). max_iter: iterations per ``step`` (20). max_eval: closure calls per
        ``step`` (max_iter · 5/4). tolerance_grad: stop when max|∇f| ≤ this (1e-7).
        tolerance_change: stop when the step or the change of f falls below this (1e-9).
        history_size: m (100). line_search_fn: None or "strong_wolfe".

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0, -1.0], requires_grad=True)
    >>> opt = cr.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 4) for v in w.tolist()]
    [1.0, 1.0]
    """

    def __init__(self, params=None, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=history_size,
                         line_search_fn=line_search_fn)

    def add_param_group(self, group):
        if self.param_groups:
            raise ValueError("LBFGS works on one parameter group: put every parameter in it")
        super().add_param_group(group)

    def check_group(self, group):
        super().check_group(group)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    # ---------------------------------------------------------------- the flat view of the parameters
    def _params(self):
        return self.param_groups[0]["params"]

    def _flat_grad(self):
        params = self._params()
        xp = array_module(params[0]._data)
        return xp.concatenate([p.grad._data.ravel() if p.grad is not None else xp.zeros(p.size, p.dtype)
                               for p in params])

    def _add_to_params(self, step, direction):
        offset = 0
        for p in self._params():
            p._data += step * direction[offset:offset + p.size].reshape(p.shape)
            mark_changed(p)
            offset += p.size

    def _set_params(self, arrays):
        for p, array in zip(self._params(), arrays):
            p._data[...] = array
            mark_changed(p)

    def _evaluate(self, closure):
        with enable_grad():
            loss = closure()
        return float(loss), self._flat_grad()

    # ---------------------------------------------------------------- the algorithm
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss at the starting point."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that zeroes the gradients, computes the loss, "
                             "calls loss.backward() and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params()[0], {"func_evals": 0, "n_iter": 0})

        with enable_grad():
            original_loss = closure()
        loss, flat_grad = float(original_loss), self._flat_grad()
        evaluations = 1
        state["func_evals"] += 1
        xp = array_module(flat_grad)
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return original_loss

        direction, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                direction = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = direction * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                direction = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            slope = float(flat_grad @ direction)
            if slope > -tolerance_change:  # not a descent direction any more
                break

            if group["line_search_fn"] == "strong_wolfe":
                loss, flat_grad, t, line_evaluations = self._line_search(
                    closure, direction, t, loss, flat_grad, slope, tolerance_change)
            else:
                self._add_to_params(t, direction)
                line_evaluations = 0
                if n_iter != max_iter:  # the next iteration needs the gradient at the new point
                    loss, flat_grad = self._evaluate(closure)
                    line_evaluations = 1
            evaluations += line_evaluations
            state["func_evals"] += line_evaluations

            if n_iter == max_iter or evaluations >= max_eval:
                break
            if float(xp.abs(flat_grad).max()) <= tolerance_grad:
                break
            if float(xp.abs(direction).max()) * abs(t) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=direction, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return original_loss

    def _line_search(self, closure, direction, t, loss, flat_grad, slope, tolerance_change):
        """Move to θ₀ + t·d with t from the strong-Wolfe search; returns (f, ∇f, t, evaluations)."""
        start = [p._data.copy() for p in self._params()]

        def along(step_length):
            self._set_params(start)
            self._add_to_params(step_length, direction)
            return self._evaluate(closure)

        loss, flat_grad, t, evaluations = strong_wolfe(along, t, direction, loss, flat_grad, slope,
                                                       tolerance_change=tolerance_change)
        self._set_params(start)
        self._add_to_params(t, direction)
        return loss, flat_grad, t, evaluations

    def import_state(self, p, state, name):
        return state  # flat vectors over all parameters: nothing shaped like one parameter


def _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag):
    """The product −H∇f by the two-loop recursion; ``old_dirs`` are the y's, ``old_stps`` the s's."""
    q = -flat_grad
    alphas = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        alphas[i] = float(old_stps[i] @ q) * ro[i]
        q -= alphas[i] * old_dirs[i]
    r = q
    r *= h_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r += (alphas[i] - beta) * old_stps[i]
    return r


def strong_wolfe(evaluate, t, direction, f0, g0, slope0, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_evaluations=25):
    r"""Find a step length t meeting the strong Wolfe conditions along ``direction``.

    ``evaluate(t)`` returns (f, ∇f) at θ₀ + t·d. The conditions (Nocedal and Wright, 3.7)::

        f(θ₀ + t d) ≤ f₀ + c₁ t ∇f₀ᵀd                 sufficient decrease
        |∇f(θ₀ + t d)ᵀd| ≤ c₂ |∇f₀ᵀd|                  curvature

    Algorithm 3.5 brackets a step (extrapolating by cubic interpolation), then algorithm 3.6 (zoom)
    shrinks the bracket with safeguarded cubic interpolation. Returns (f, ∇f, t, evaluations).
    """
    scale = float(abs(direction).max())
    evaluations = 0
    prev = (0.0, f0, g0, slope0)  # (t, f, gradient, slope) of the previous trial
    f, g = f0, g0
    while evaluations < max_evaluations:
        f, g = evaluate(t)
        evaluations += 1
        slope = float(g @ direction)
        current = (t, f, g, slope)
        if not math.isfinite(f) or f > f0 + c1 * t * slope0 or (evaluations > 1 and f >= prev[1]):
            return _zoom(evaluate, prev, current, direction, f0, slope0, c1, c2, tolerance_change,
                         scale, evaluations, max_evaluations)
        if abs(slope) <= -c2 * slope0:
            return f, g, t, evaluations
        if slope >= 0.0:
            return _zoom(evaluate, current, prev, direction, f0, slope0, c1, c2, tolerance_change,
                         scale, evaluations, max_evaluations)
        # still going down: extrapolate, at least a little further and at most ten times as far
        low, high = t + 0.01 * (t - prev[0]), 10.0 * t
        prev, t = current, _cubic_minimum(prev[0], prev[1], prev[3], t, f, slope, low, high)
    return f, g, t, evaluations


def _zoom(evaluate, lo, hi, direction, f0, slope0, c1, c2, tolerance_change, scale, evaluations,
          max_evaluations):
    """Shrink [lo, hi] (lo: the lower f, meeting sufficient decrease) to a strong-Wolfe point."""
    while evaluations < max_evaluations:
        left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
        width = right - left
        if width * scale < tolerance_change:
            break
        t = _cubic_minimum(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3], left, right)
        if min(t - left, right - t) < 0.1 * width:  # too near an end: bisect instead
            t = 0.5 * (left + right)
        f, g = evaluate(t)
        evaluations += 1
        slope = float(g @ direction)
        trial = (t, f, g, slope)
        if not math.isfinite(f) or f > f0 + c1 * t * slope0 or f >= lo[1]:
            hi = trial
        else:
            if abs(slope) <= -c2 * slope0:
                return f, g, t, evaluations
            if slope * (hi[0] - lo[0]) >= 0.0:
                hi = lo
            lo = trial
    return lo[1], lo[2], lo[0], evaluations


def _cubic_minimum(x1, f1, g1, x2, f2, g2, low, high):
    """The minimiser of the cubic through (x1, f1, f1') and (x2, f2, f2'), clamped to [low, high]
    (Nocedal and Wright, 3.59); the midpoint when the cubic has no minimum."""
    if x1 == x2:
        return 0.5 * (low + high)
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    discriminant = d1 * d1 - g1 * g2
    if not discriminant >= 0.0:  # negative, or NaN
        return 0.5 * (low + high)
    d2 = math.copysign(math.sqrt(discriminant), x2 - x1)
    denominator = g2 - g1 + 2.0 * d2
    if denominator == 0.0:
        return 0.5 * (low + high)
    t = x2 - (x2 - x1) * (g2 + d2 - d1) / denominator
    if not math.isfinite(t):  # a trial point where f overflowed
        return 0.5 * (low + high)
    return min(max(t, low), high)
