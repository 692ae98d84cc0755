"""Keras's ``compile`` for a functional model of several outputs: a loss per output, weighted and summed.

``loss`` is one loss for every output, a list (one per output) or a dict keyed by the outputs'
names (the names of the layers that make them); ``loss_weights`` likewise (default 1 each);
``metrics`` a list with one entry per output (a metric or a list of them) or a dict. The training
loss is ``Σ loss_weight_i · loss_i`` (plus the layers' penalties), and the logs are Keras's:
``loss``, ``<output>_loss`` for each output, then ``<output>_<metric>``.

The engine's loop drives the steps as for any model; :class:`OutputHeads` does the forward pass,
the per-output target checks (the engine's, one verdict per output) and the running means.
"""

import numpy

from chainrule import backend, gpu
from chainrule.autograd.mode import no_grad
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import losses as keras_losses
from chainrule.keras import metrics as keras_metrics
from chainrule.train import metrics as engine_metrics
from chainrule.train import nan_guard
from chainrule.train.data_adapter import model_input
from chainrule.train.targets import UNCHECKED, adapt_targets, loss_name


def per_output(value, names, what, single=lambda v: not isinstance(v, (list, tuple, dict)), default=None):
    """``value`` as a list with one entry per output: given once for all, as a list, or as a dict (where
    an output left out gets ``default``, unless there is none)."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [n for n in names if n not in value]
        if unknown or (missing and default is None):
            raise ConfigError(f"compile: {what} as a dict needs one entry per output {names}, got keys "
                              f"{sorted(value)} (missing {missing}, unknown {unknown})")
        return [value.get(n, default) for n in names]
    if single(value):
        return [value] * len(names)
    if len(value) != len(names):
        raise ConfigError(f"compile: the model has {len(names)} outputs {names}, got {what} as a list of "
                          f"{len(value)}; hint: one entry per output, or a dict keyed by the outputs' names")
    return list(value)


class Head:
    """One output's loss, weight, running loss and metrics, and its own target check."""

    def __init__(self, name, loss, weight, metrics):
        self.name = name
        self.loss = keras_losses.CompiledLoss(loss)
        self.loss_name = loss_name(self.loss)
        self.weight = float(weight)
        self.tracker = engine_metrics.Mean(f"{name}_loss")
        metrics = metrics if isinstance(metrics, (list, tuple)) else ([] if metrics is None else [metrics])
        self.metric_identifiers = [m for m in metrics if isinstance(m, str)]
        self.metrics = []
        for metric in metrics:
            metric = engine_metrics.get(keras_metrics.for_engine(metric), self.loss_name)
            metric.name = f"{name}_{metric.name}"
            self.metrics.append(metric)
        self.target_adapt = UNCHECKED  # what adapt_targets keeps for this output's loss


class OutputHeads:
    """The heads of a model's outputs; ``step`` is its train_step (``train=True``) and test_step."""

    __name__ = "output_losses"

    def __init__(self, names, loss, loss_weights, metrics):
        losses = per_output(loss, names, "loss")
        weights = per_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights",
                             default=1.0)
        metric_lists = per_output([None] * len(names) if metrics is None else metrics, names, "metrics",
                                  single=lambda v: False, default=[])
        self.heads = [Head(*entry) for entry in zip(names, losses, weights, metric_lists)]

    @property
    def trackers(self):
        """The running means the logs report after the total loss: losses first, then metrics."""
        return [h.tracker for h in self.heads] + [m for h in self.heads for m in h.metrics]

    def new_run(self):
        for head in self.heads:
            head.target_adapt = UNCHECKED

    def config(self):
        """The compile settings for a model file, or None when a loss is a function (no code in files)."""
        identifiers = [h.loss.identifier for h in self.heads]
        if None in identifiers:
            return None
        return {"loss": identifiers, "loss_weights": [h.weight for h in self.heads],
                "metrics": [h.metric_identifiers for h in self.heads]}

    def __call__(self, outputs, targets):
        """The training loss: Σ weight_i · loss_i over the outputs (targets already adapted)."""
        return self._total([head.loss(o, y) for head, o, y in zip(self.heads, outputs, targets, strict=True)])

    def _total(self, terms):
        total = None
        for head, term in zip(self.heads, terms):
            total = term * head.weight if total is None else total + term * head.weight
        return total

    def step(self, model, x, y, train):
        """One batch: forward, the weighted losses, the running means; with ``train`` also the update."""
        compiled = model._compiled
        if train:
            outputs, targets, terms, total = self._losses(model, x, y)
        else:
            with no_grad():
                outputs, targets, terms, total = self._losses(model, x, y)
        value = float(total._data)
        if train and nan_guard.guarding(model):
            nan_guard.check_loss(value)
        count = len(outputs[0])
        compiled.loss_tracker.update_mean(value, count)
        for head, output, target, term in zip(self.heads, outputs, targets, terms):
            head.tracker.update_mean(float(term._data), count)
            for metric in head.metrics:
                metric.update_state(gpu.move_array(output._data, numpy), gpu.move_array(target, numpy))
        if train:
            optimizer = compiled.optimizer
            if not optimizer.param_groups:
                optimizer.bind(list(model.parameters()))
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
        return value

    def _losses(self, model, x, y):
        outputs = model(model_input(model, x))
        if not isinstance(y, (tuple, list)) or len(y) != len(self.heads):
            raise ShapeError(f"{type(model).__name__}: the model has {len(self.heads)} outputs "
                             f"{[h.name for h in self.heads]}, got targets for "
                             f"{len(y) if isinstance(y, (tuple, list)) else 'one'}; hint: y as a list with "
                             "one array per output, or a dict keyed by the outputs' names")
        device = backend.array_module(outputs[0]._data)
        targets = [gpu.move_array(adapt_targets(head, target, output), device)
                   for head, target, output in zip(self.heads, y, outputs)]
        terms = [head.loss(output, target) for head, output, target in zip(self.heads, outputs, targets)]
        return outputs, targets, terms, model._with_layer_losses(self._total(terms))
