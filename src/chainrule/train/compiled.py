"""What ``Model.compile`` resolves: the loss, the optimiser and the metrics, from objects or names.

Kept in a plain object beside the model, not as attributes of the module tree: a loss given as a
layer (``nn.CrossEntropyLoss()``) must not become a child of the model, nor appear in its saved
architecture.
"""

from chainrule.errors import ChainruleError
from chainrule.train import metrics as metrics_module
from chainrule.train import targets

UNCHECKED = "unchecked"  # the targets of this run have not been checked yet


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
        self.target_adapt = UNCHECKED  # how this run's targets are adapted (see targets.check)

    @classmethod
    def resolve(cls, loss, optimizer, metrics, owner="Model"):
        """Turn compile's arguments (objects or names) into a Compiled; unknown names list the known."""
        from chainrule import optim
        from chainrule.nn import losses

        if loss is None:
            raise ChainruleError(f"{owner}.compile: no loss; hint: compile(loss='mse', ...) or "
                                 "loss='categorical_crossentropy'")
        loss_fn = losses.get(loss) if isinstance(loss, str) else loss
        if not callable(loss_fn):
            raise ChainruleError(f"{owner}.compile: a loss must be a name or a function loss(input, target), "
                                 f"got {type(loss).__name__}")
        loss_name = targets.loss_name(loss)
        optimizer = optim.get(optimizer)
        if metrics is None:
            metric_list = []
        else:
            metric_list = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        metric_objects = [metrics_module.get(m, loss_name) for m in metric_list]
        return cls(loss_fn, loss if isinstance(loss, str) else None, loss_name, optimizer, metric_objects,
                   [m for m in metric_list if isinstance(m, str)])

    def config(self):
        """The JSON-able compile settings for model files (None unless the loss is a name)."""
        from chainrule.io import registry

        if self.loss_identifier is None:
            return None
        config = {"loss": self.loss_identifier, "metrics": self.metric_identifiers}
        name = type(self.optimizer).__name__
        if name in registry.OPTIMIZERS and hasattr(self.optimizer, "get_config"):
            config["optimizer"] = {"class_name": name, "config": self.optimizer.get_config()}
        return config
