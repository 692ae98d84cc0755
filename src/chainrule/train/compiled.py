"""What ``Model.compile`` resolves: the loss, the optimiser and the metrics, from objects or names.

Kept in a plain object beside the model, not as attributes of the module tree: a loss given as a
layer (``nn.CrossEntropyLoss()``) must not become a child of the model, nor appear in its saved
architecture. It also holds the running means of the epoch: the loss tracker, the metrics, and the
named values that a custom ``train_step`` returns (``step_trackers``).
"""

from chainrule.errors import ChainruleError
from chainrule.train import metrics as metrics_module
from chainrule.train import targets
from chainrule.train.targets import UNCHECKED

# compile(optimizer="name") is the Keras door, so a name gets Keras's defaults; the classes in cr.optim
# keep PyTorch's (cr.optim.SGD() has lr 1e-3, Keras's "sgd" 1e-2; PyTorch's RMSprop has lr 1e-2 and
# α 0.99, Keras's lr 1e-3 and ρ 0.9), and with PyTorch's the Keras recipes a student copies do not learn.
KERAS_DEFAULTS = {
    "sgd": {"lr": 1e-2},
    "rmsprop": {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7},
    "adam": {"lr": 1e-3, "eps": 1e-7},
    "adamw": {"lr": 1e-3, "eps": 1e-7, "weight_decay": 4e-3},
    "adagrad": {"lr": 1e-3, "initial_accumulator_value": 0.1, "eps": 1e-7},
    "adadelta": {"lr": 1e-3, "rho": 0.95, "eps": 1e-7},
}


def keras_optimizer(name, **overrides):
    """The optimiser called ``name`` with Keras's default hyperparameters (``overrides`` win)."""
    from chainrule import optim

    return optim.get(name, **{**KERAS_DEFAULTS.get(name.lower(), {}), **overrides})


class Compiled:
    """The compiled loss function, optimiser and metrics of one model, with their names."""

    def __init__(self, loss, loss_identifier, loss_name, optimizer, metrics, metric_identifiers):
        self.loss = loss
        self.loss_identifier = loss_identifier  # the string given, kept for model files
        self.loss_name = loss_name  # the canonical name that picks target checks and accuracy
        self.optimizer = optimizer
        self.metrics = metrics
        self.metric_identifiers = metric_identifiers
        self.loss_tracker = metrics_module.Mean("loss")
        self.layer_losses = False  # no loss compiled, the layers' penalties are it (Keras's compile())
        self.step_trackers = {}  # name -> Mean of the values a custom train_step/test_step returns
        self.target_adapt = UNCHECKED  # how this run's targets are adapted (see targets.check)

    @property
    def trackers(self):
        """The running means reported in logs: the loss's (when there is a loss), then the metrics."""
        with_loss = self.loss is not None or self.layer_losses
        return [self.loss_tracker, *self.metrics] if with_loss else list(self.metrics)

    @classmethod
    def resolve(cls, loss, optimizer, metrics, owner="Model", custom_step=False, layer_losses=False):
        """Turn compile's arguments (objects or names) into a Compiled; unknown names list the known.

        ``optimizer=None`` means RMSprop (Keras's default) for the built-in train_step; an optimiser
        given by name gets Keras's default hyperparameters (:data:`KERAS_DEFAULTS`). With
        ``custom_step`` (the model overrides train_step) nothing is required: a missing loss or
        optimiser stays None, since the custom step brings its own. With ``layer_losses`` (Keras's
        ``compile()`` without a loss) the loss may be left out: the layers' ``add_loss`` penalties are
        then the whole loss.
        """
        from chainrule import optim
        from chainrule.nn import losses

        if loss is None and not custom_step and not layer_losses:
            raise ChainruleError(f"{owner}.compile: no loss; hint: compile(loss='mse', ...) or "
                                 "loss='categorical_crossentropy' (only a model that overrides train_step "
                                 "may go without)")
        loss_fn = losses.get(loss) if isinstance(loss, str) else loss
        if loss_fn is not None and not callable(loss_fn):
            raise ChainruleError(f"{owner}.compile: a loss must be a name or a function loss(input, target), "
                                 f"got {type(loss).__name__}")
        loss_name = targets.loss_name(loss) if loss is not None else None
        if isinstance(optimizer, str):
            optimizer = keras_optimizer(optimizer)
        elif optimizer is not None:
            optimizer = optim.get(optimizer)
        elif not custom_step:
            optimizer = keras_optimizer("rmsprop")
        if metrics is None:
            metric_list = []
        else:
            metric_list = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        metric_objects = [metrics_module.get(m, loss_name) for m in metric_list]
        compiled = cls(loss_fn, loss if isinstance(loss, str) else None, loss_name, optimizer, metric_objects,
                       [m for m in metric_list if isinstance(m, str)])
        compiled.layer_losses = loss is None and layer_losses and not custom_step
        return compiled

    def config(self):
        """The JSON-able compile settings for model files (None when there is no loss).

        A loss given as a function or object is saved by name only (``"loss_function"``): a file holds
        no code, so loading asks for it in ``custom_objects``, while the optimiser is saved either way.
        """
        from chainrule.io import registry

        if self.loss_identifier is not None:
            config = {"loss": self.loss_identifier, "metrics": self.metric_identifiers}
        elif self.loss is not None:
            name = getattr(self.loss, "__name__", None) or type(self.loss).__name__
            config = {"loss": None, "loss_function": name, "metrics": self.metric_identifiers}
        else:
            return None
        name = registry.optimizer_name(type(self.optimizer))
        if name is not None and hasattr(self.optimizer, "get_config"):
            config["optimizer"] = {"class_name": name, "config": self.optimizer.get_config()}
        return config
