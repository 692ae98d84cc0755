"""Checkpoints that resume a run exactly: what ``fit`` saves beside the weights, and how it comes back.

A model file written during ``fit`` (by ModelCheckpoint, or ``model.save`` from a callback) carries,
besides weights and optimiser state, the training state: the epoch just finished, the state of
``chainrule.random`` at that moment, the history so far, the seed of the validation split, and the
state of callbacks that remember earlier epochs (EarlyStopping's best value and weights,
ReduceLROnPlateau's counters). ``fit(resume_from=path)`` restores all of it, so the remaining epochs
draw the same shuffles and dropout masks as the uninterrupted run would have.

Not covered: a DataLoader built with its own ``seed`` keeps its own generator, which is not saved.
"""

from chainrule import random as cr_random
from chainrule.errors import ChainruleError


def read(path):
    """``(saved_file, training_state)`` of a checkpoint; raises when it holds no training state."""
    from chainrule.io import model_file

    saved = model_file.read(path, model_file.MODEL_FORMAT)
    training = saved.tree("training")
    if training is None:
        raise ChainruleError(f"{path}: this model file holds no training state to resume; hint: resume from "
                             "a file written by ModelCheckpoint during fit, or load its weights with "
                             "load_weights()")
    return saved, training


def training_state(model):
    """During fit: the state a checkpoint needs to resume (None outside fit)."""
    state = model._fit_state
    if state is None or state["epoch"] is None:
        return None
    history = {k: list(v) for k, v in state["history"].history.items()}
    epochs = list(state["history"].epoch)
    if not epochs or epochs[-1] != state["epoch"]:  # History runs after the user's callbacks
        epochs.append(state["epoch"])
        for key, value in (state["logs"] or {}).items():
            history.setdefault(key, []).append(value)
    return {"epoch": state["epoch"], "random_state": cr_random.get_state(), "history": history,
            "history_epochs": epochs, "split_seed": state["split_seed"],
            "callbacks": state["callbacks"].states()}


def restore(model, saved, training):
    """Load a checkpoint's weights, optimiser state and random streams into ``model``: all or nothing."""
    from chainrule.io import model_file

    optimizer = model.optimizer
    weights_before = model.state_dict() if model._fully_built() else None
    optimizer_before = optimizer.state_dict() if optimizer.param_groups else None
    try:
        model_file.load_weights_into(model, saved)
        if not optimizer.param_groups:
            optimizer.bind(list(model.parameters()))
        state = saved.tree("optimizer_state")
        if state is not None:
            optimizer.load_state_dict(state)
        cr_random.set_state(training["random_state"])
    except Exception:
        if weights_before is not None:
            model.load_state_dict(weights_before)
        if optimizer_before is not None:
            optimizer.load_state_dict(optimizer_before)
        raise
