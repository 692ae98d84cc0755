"""Run a model in inference mode for a while, then give each module back its own mode."""

import contextlib


@contextlib.contextmanager
def evaluating(model):
    """Eval mode inside the block (dropout off, running statistics); each module's own mode after.

    Callables that are not Modules pass through unchanged.
    """
    if not hasattr(model, "modules"):
        yield model
        return
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
