"""The steps every Keras-style zoo model shares when ``chainrule train`` runs it.

Choose the optimiser from the options, fit with the one training loop (``Model.fit``), then write
the model file and the loss curve into ``--out``.
"""

from pathlib import Path

from chainrule.errors import ChainruleError


def optimizer_for(options, default, **default_kwargs):
    """The optimiser named by ``--optimizer`` (else ``default``), with ``--lr`` where given.

    The model's own hyperparameters (``default_kwargs``: momentum, rho, ...) apply only to its own
    default optimiser.
    """
    from chainrule.train.compiled import keras_optimizer

    name = (options.optimizer or default).lower()
    kwargs = dict(default_kwargs) if name == default else {}
    if options.lr is not None:
        kwargs["lr"] = options.lr
    return keras_optimizer(name, **kwargs)  # another optimiser by name: Keras's defaults, as compile


def watch(options, samples=None):
    """The TensorBoard callback that ``--tensorboard DIR`` asks for (``[]`` without it).

    Histograms every epoch; ``samples`` (a few test images) are drawn with the model's outputs for
    them, which for an autoencoder are its reconstructions.
    """
    if options.tensorboard is None:
        return []
    from chainrule.callbacks import TensorBoard

    return [TensorBoard(options.tensorboard, histogram_freq=1, write_images=samples is not None,
                        sample_inputs=samples, hparams={"seed": options.seed})]


def fit(model, x, y, options, *, epochs, batch_size, validation_split=0.1, callbacks=(), samples=None):
    """``model.fit`` with the command line's epochs and batch size over the model's defaults.

    Where that would hold out fewer than 2 samples (tiny ``--limit`` runs) nothing is held out for validation.
    """
    callbacks = [*callbacks, *watch(options, samples)]
    if len(x) * validation_split < 2:
        validation_split = 0.0
        callbacks = [c for c in callbacks if "val_" not in str(getattr(c, "monitor", ""))]
    return model.fit(x, y, batch_size=options.get("batch_size", batch_size),
                     epochs=options.get("epochs", epochs), validation_split=validation_split,
                     callbacks=list(callbacks), verbose=options.verbose)


def save_model(model, options, name):
    """Write ``<out>/<name>.chainrule`` (the zoo's own classes named as in ``zoo.custom_objects()``)."""
    from chainrule import distributed, zoo

    path = Path(options.out) / f"{name}.chainrule"
    if not distributed.is_main():  # on several ranks, rank 0 writes the files
        return path
    model.save(str(path), custom_objects=zoo.custom_objects())  # the zoo's CharRNN, MnistNet by name
    return path


def save_loss_curve(history, options, name, log):
    """Write ``<out>/<name>_loss.png``; returns its path, or None (with a note) without matplotlib
    (or on a rank other than 0, which writes no files)."""
    from chainrule import distributed, plots

    if not distributed.is_main():
        return None
    try:
        return plots.loss_curve(history, Path(options.out) / f"{name}_loss.png",
                                title=f"{name}: loss per epoch")
    except ChainruleError as error:
        log(f"(no loss curve: {error})")
        return None


def save_decision_boundary(model, x, y, options, name, log, title):
    """Write ``<out>/<name>_boundary.png`` (2-D inputs); returns its path, or None without matplotlib."""
    from chainrule import plots

    try:
        return plots.decision_boundary(model, x, y, Path(options.out) / f"{name}_boundary.png", title=title)
    except ChainruleError as error:
        log(f"(no decision boundary picture: {error})")
        return None


def metric_value(result, index):
    """Element ``index`` of what ``evaluate`` returned (a number, a list, or a dict of metrics)."""
    if isinstance(result, dict):
        return float(list(result.values())[index])
    if isinstance(result, (list, tuple)):
        return float(result[index])
    if index != 0:
        raise ChainruleError(f"evaluate returned one number, expected at least {index + 1}")
    return float(result)
