"""Checkpoints that resume a run exactly: what ``fit`` saves beside the weights, and how it comes back.

A model file written during ``fit`` (by ModelCheckpoint, or ``model.save`` from a callback) carries,
besides weights and optimiser state, the training state: the epoch just finished, the state of
``chainrule.random`` at that moment, the history so far, the seed of the validation split, the
state of callbacks that remember earlier epochs (EarlyStopping's best value and weights,
ReduceLROnPlateau's counters), and the state of the optimisers a custom ``train_step`` keeps as
attributes of the model (a GAN's two); on several ranks, also the shuffle seed and every
rank's random state. ``fit(resume_from=path)`` restores all of it, so the
remaining epochs draw the same shuffles and dropout masks as the uninterrupted run would have.

Not covered: a DataLoader built with its own ``seed`` keeps its own generator, which is not saved.
"""

from chainrule import random as cr_random
from chainrule.errors import FormatError


def read(path):
    """``(saved_file, training_state)`` of a checkpoint, its training state checked (FormatError)."""
    from chainrule.io import checks, model_file

    saved = model_file.read(path, model_file.MODEL_FORMAT)
    training = saved.tree("training")
    if training is None:
        raise FormatError(f"{path}: this model file holds no training state to resume; hint: resume from "
                             "a file written by ModelCheckpoint during fit, or load its weights with "
                             "load_weights()")
    return saved, checks.training_state(training, saved.path)


def attribute_optimizers(model):
    """``{attribute: optimizer}`` of the optimisers held by the model itself (not the compiled one)."""
    from chainrule.optim import Optimizer

    return {name: value for name, value in vars(model).items()
            if isinstance(value, Optimizer) and value is not model.optimizer}


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
    training = {"epoch": state["epoch"], "random_state": cr_random.get_state(), "history": history,
                "history_epochs": epochs, "split_seed": state["split_seed"],
                "callbacks": state["callbacks"].states(),
                "optimizers": {name: opt.state_dict() for name, opt in attribute_optimizers(model).items()
                               if opt.param_groups}}
    if state.get("distributed"):  # on several ranks: the shuffle seed and every rank's random state
        training["distributed"] = state["distributed"]
    return training


def restore(model, saved, training):
    """Load a checkpoint's weights, optimiser states and random streams into ``model``: all or nothing.

    Everything is checked first (weights against the model, each optimiser state against its
    optimiser, the random state on a throwaway generator); only then is anything changed, so a bad
    checkpoint raises FormatError and leaves the model, its optimisers and the random streams as
    they were.
    """
    from chainrule.io import checks, model_file

    optimizers = attribute_optimizers(model)
    saved_states = dict(training.get("optimizers", {}))
    missing = sorted(set(saved_states) - set(optimizers))
    if missing:
        raise FormatError(f"{saved.path}: the checkpoint holds the state of the optimiser(s) "
                          f"{', '.join(missing)}, which {type(model).__name__} does not have; hint: "
                          "resume with the same model class that wrote the checkpoint")
    model_file.build_from_spec(model, checks.input_spec(saved.json("input_spec"), saved.path))
    checks.weights_match(dict(model._state_entries()), saved.weight_specs, saved.path, type(model).__name__)
    if model.optimizer is not None:
        optimizers[None] = model.optimizer  # the compiled one, whose state has its own entry
        if not model.optimizer.param_groups:
            model.optimizer.bind(list(model.parameters()))
        state = saved.tree("optimizer_state")
        if state is not None:
            saved_states[None] = state
    for name, state in saved_states.items():
        what = "optimiser state" if name is None else f"state of the optimiser '{name}'"
        checks.optimizer_state(optimizers[name], state, saved.path, what)
    checks.random_state(training["random_state"], saved.path)
    weights = saved.weights()
    # every check passed: now change things (a failure here would be a bug; undo all the same)
    weights_before = model.state_dict()
    before = {name: opt.state_dict() for name, opt in optimizers.items() if opt.param_groups}
    try:
        model.load_state_dict(weights)
        for name, state in saved_states.items():
            optimizers[name].load_state_dict(state)
        cr_random.set_state(training["random_state"])
    except Exception:
        model.load_state_dict(weights_before)
        for name, state in before.items():
            optimizers[name].load_state_dict(state)
        raise
