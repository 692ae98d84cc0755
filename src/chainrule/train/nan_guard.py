"""fit never trains on a non-finite loss: the step that would is stopped before it changes a weight.

The built-in ``train_step`` asks :func:`check_loss` before backward and :func:`check_gradients`
before the optimiser's step, while ``fit`` runs with ``stop_on_nan`` (the default). A NaN or inf
stops that batch there, so the weights are those of the last finite step, and ``fit`` ends with a
warning naming the epoch and the batch. The loss check is a float comparison; the gradient check
is one dot product per gradient (finite only if every entry is), looking closer only when it is not.

On several ranks (``chainrule.distributed``) a rank cannot stop alone: the others would wait for it
in the gradient allreduce. There the fit sets ``_fit_state["non_finite"]`` to a list, the checks
note the reason in it instead of raising, and the step's allreduce carries the note to every rank,
which then all raise NonFiniteStep before the step (:mod:`chainrule.distributed.fit`).
"""

import math
import warnings

from chainrule import backend


class NonFiniteStep(Exception):  # noqa: N818 - control flow from train_step to the loop, never seen
    """Raised inside ``train_step`` to stop the batch before the weights change."""


def guarding(model):
    """Whether ``model``'s current step runs inside a fit that stops on NaN."""
    state = model._fit_state
    return state is not None and state.get("stop_on_nan", False)


def check_loss(value, model=None):
    """Stop (or, on several ranks, note) a non-finite loss; returns whether the loss is finite."""
    if not math.isfinite(value):
        _stop(model, f"the loss is {value}")
        return False
    return True


def _stop(model, reason):
    notes = model._fit_state.get("non_finite") if model is not None and model._fit_state else None
    if notes is None:
        raise NonFiniteStep(reason)
    if not notes:  # the first reason of the step is the one worth telling
        notes.append(reason)


def check_gradients(model, optimizer, loss_value):
    """Stop (or note) at the first parameter whose gradient holds NaN or inf, naming it."""
    if not math.isfinite(loss_value):
        return  # noted already (on several ranks): a non-finite loss has non-finite gradients
    for group in optimizer.param_groups:
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            data = grad._data
            xp = backend.array_module(data)
            flat = data.reshape(-1)
            # a BLAS dot is the cheapest full pass (a fifth of sum's time): it is NaN or inf if an
            # entry is; only when it is (or overflowed) does the exact, allocating check run. Through
            # backend.gemm, the library's one door to BLAS, so that it follows the thread rule beside
            # Numba's kernels (chainrule.kernels.blas_route): OpenBLAS runs a long dot on 2 threads
            square = backend.gemm(flat.reshape(1, -1), flat.reshape(-1, 1))
            if not math.isfinite(float(square[0, 0])) and not bool(xp.isfinite(data).all()):
                names = {id(q): name for name, q in model.named_parameters()}
                kind = "nan" if bool(xp.isnan(data).any()) else "inf"
                return _stop(model, f"the gradient of {names.get(id(p), 'a parameter')} holds {kind} (the "
                                    f"loss was {loss_value:.6g})")


def report(reason, epoch, epochs, batch, steps, taken=False):
    """Warn that fit stopped, naming where (epochs and batches counted from 1, as the progress lines)."""
    of_steps = f"/{steps}" if steps else ""
    weights = ("A custom train_step had already taken its step, so the weights may not be finite"
               if taken else "That batch's step was not taken, so the weights are those of the last "
               "finite step")
    warnings.warn(f"fit stopped at epoch {epoch + 1}/{epochs}, batch {batch + 1}{of_steps}: {reason}. "
                  f"{weights}. Hints: a lower learning rate; fit(..., detect_anomaly=True) names the op "
                  "that made the first NaN or inf; fit(..., stop_on_nan=False) trains on regardless",
                  RuntimeWarning, stacklevel=6)
