"""What ``Model.fit`` does differently when it runs on several ranks: the loop's distributed strategy.

The training loop (:mod:`chainrule.train.loop`) asks :func:`strategy` for one at its start and gets
None on a single process, where nothing changes. On several ranks the strategy

- gives every rank rank 0's random state first, so a ``validation_split`` holds out the same
  samples everywhere, and resumes every rank from rank 0's checkpoint file (sent over MPI: the
  other ranks need not see rank 0's disk). The checkpoint carries the shuffle seed and every rank's
  random state at the epoch's end, so a resumed run draws the batches and dropout masks the
  uninterrupted run would have (on as many ranks; on another number, the streams start anew);
- shards the data: training batches through a :class:`~chainrule.data.DistributedSampler` (every
  rank the same number of batches; ``batch_size`` is per rank), validation batches without padding;
- keeps the progress lines and the callbacks that write files (ModelCheckpoint, CSVLogger,
  TensorBoard, any callback with ``main_rank_only = True``) on rank 0 only;
- makes the optimisers data-parallel for the run (rank 0's weights and state before the first step,
  the mean gradient at every step), gives every rank its own random stream (dropout masks differ),
  and scales the learning rate only when asked (``init(scale_lr="linear")``);
- stops every rank at the same step when the loss or a gradient turns NaN or inf on any rank
  (fit's ``stop_on_nan``): each rank's finding rides in the gradient allreduce, so no rank steps
  and all keep the same last finite weights, each warning alike, naming the ranks where it happened;
- averages the epoch's logs over the ranks (validation logs weighted by each rank's samples), gives
  every rank rank 0's BatchNorm running statistics at each epoch's end, and makes the ranks agree
  on stopping, so callbacks decide alike everywhere.
"""

import logging
import os
import tempfile

import numpy

from chainrule.distributed.collectives import (
    allgather_object,
    allreduce_arrays,
    broadcast_arrays,
    broadcast_object,
)
from chainrule.distributed.optimizer import average_gradients, broadcast_parameters, synchronize
from chainrule.distributed.world import active, rank, size, world
from chainrule.errors import ConfigError
from chainrule.train.nan_guard import NonFiniteStep

MAIN_RANK_ONLY = ("ModelCheckpoint", "CSVLogger", "TensorBoard", "BackupAndRestore")
logger = logging.getLogger("chainrule.distributed")


def strategy(model):
    """The strategy for a fit of ``model`` on several ranks, or None on one process."""
    return FitStrategy(model) if active() else None


class FitStrategy:
    def __init__(self, model):
        from chainrule import random as cr_random

        self.model = model
        self.samplers = []
        self.val_weight = 1.0
        self.attached = []
        self.lr_factor = 1
        self.temporary = None
        self.shuffle_seed = None
        self.resumed_states = None  # every rank's random state, from the checkpoint resumed from
        cr_random.set_state(broadcast_object(cr_random.get_state(), 0, "fit (random state)"))

    # ---------------------------------------------------------------- before the loop
    def checkpoint_path(self, path):
        """``path`` on rank 0; on the others a temporary copy of rank 0's file (or rank 0's error)."""
        content = None
        if rank() == 0:
            try:
                with open(path, "rb") as file:
                    content = file.read()
            except OSError as error:
                content = error
        content = broadcast_object(content, 0, "fit (resume file)")
        if isinstance(content, Exception):
            raise content
        if rank() == 0:
            return path
        handle, self.temporary = tempfile.mkstemp(suffix=".chainrule")
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        return self.temporary

    def shard(self, train_batches, val_batches, training=None):
        """Each rank's share of the training batches (padded to equal counts) and validation batches.

        ``training``: the training state of the checkpoint resumed from (the same on every rank).
        """
        from chainrule.data import DataLoader, DistributedSampler

        train = self._loader(train_batches, "training")
        saved = (training or {}).get("distributed") or {}
        seed = saved.get("shuffle_seed")
        if seed is None:
            seed = int(broadcast_object(numpy.random.default_rng(train.seed).integers(2**62) if train.seed
                                        is not None else _draw_seed(), 0, "fit (shuffle seed)"))
        self.shuffle_seed, self.resumed_states = seed, saved.get("random_states")
        sampler = train.sampler
        if not isinstance(sampler, DistributedSampler):
            sampler = DistributedSampler(train.dataset, size(), rank(), shuffle=train.shuffle, seed=seed)
            train = DataLoader(train.dataset, train.batch_size, drop_last=train.drop_last,
                               collate_fn=train.collate_fn, sampler=sampler)
        self.samplers.append(sampler)
        self.loader = train
        self.batch_size = min(train.batch_size, len(sampler))  # what a rank's batch really holds
        if val_batches is not None:
            val = self._loader(val_batches, "validation")
            if not isinstance(val.sampler, DistributedSampler):
                strided = _Strided(len(val.dataset), rank(), size())
                val = DataLoader(val.dataset, val.batch_size, collate_fn=val.collate_fn, sampler=strided)
            self.val_weight = float(len(val.sampler))
            val_batches = val
        return train, val_batches

    def _loader(self, batches, what):
        from chainrule.data import DataLoader, DistributedSampler

        if not isinstance(batches, DataLoader) or not (batches.sampler is None
                                                       or isinstance(batches.sampler, DistributedSampler)):
            raise ConfigError(f"fit on {size()} ranks: cannot shard the {what} data, a "
                              f"{type(batches).__name__}; hint: pass arrays, a Dataset or a DataLoader, or "
                              "shard it yourself: DataLoader(dataset, sampler=cr.data.DistributedSampler("
                              "dataset))")
        return batches

    def callbacks(self, callbacks, verbose):
        """The callbacks and verbosity of this rank: writers and progress lines on rank 0 only."""
        if rank() == 0:
            return callbacks, verbose
        kept = [c for c in callbacks if type(c).__name__ not in MAIN_RANK_ONLY
                and not getattr(c, "main_rank_only", False)]
        return kept, 0

    # ---------------------------------------------------------------- around the epochs
    def begin(self):
        """Before the first epoch: data-parallel optimisers, rank-distinct random streams, the log line."""
        from chainrule import random as cr_random
        from chainrule.train.checkpoint import attribute_optimizers

        model = self.model
        self._build(model)
        if model._fully_built():
            broadcast_parameters(model)
        optimizers = list(attribute_optimizers(model).values())
        if model.optimizer is not None:
            optimizers.insert(0, model.optimizer)
        if world.scale_lr == "linear":
            self.lr_factor = size()
        for optimizer in optimizers:
            self._attach(optimizer)
        states = self.resumed_states
        if states is not None and len(states) == size():  # each rank goes on with its own stream
            cr_random.set_state(states[rank()])
        else:
            if states is not None and rank() == 0:
                logger.warning(f"distributed fit: resuming on {size()} ranks a run of {len(states)}: "
                               "the ranks' random streams (shuffles, dropout) start anew")
            base = int(cr_random.generator().integers(2**62))  # the same on every rank: their states agree
            cr_random.manual_seed(numpy.random.SeedSequence(base, spawn_key=(rank(),)))
        model._fit_state["distributed"] = {"shuffle_seed": self.shuffle_seed, "random_states": None}
        if model._fit_state.get("stop_on_nan"):
            model._fit_state["non_finite"] = []  # the NaN guard notes here instead of raising
        if rank() == 0:
            lr = (f"learning rate x{size()} (linear rule)" if self.lr_factor != 1 else
                  "learning rate as set (init(scale_lr='linear') scales it by the number of ranks)")
            logger.info(f"distributed fit: {size()} ranks x batch_size {self.batch_size} = global batch "
                        f"{size() * self.batch_size}; {lr}")

    def _build(self, model):
        """Build lazy layers from the shape of the first training sample, so that rank 0's weights
        reach every rank before the first gradient (not only before the first update)."""
        if model._fully_built() or model._input_spec is not None or not self.samplers:
            model._build_if_possible()
        else:
            from chainrule.io.model_file import build_from_spec
            from chainrule.train.data_adapter import as_array, inputs_of

            loader = self.loader
            first = as_array(inputs_of(loader._fetch(numpy.arange(1))))
            if first.dtype.kind == "f":
                spec = {"shape": [None, *first.shape[1:]], "dtype": model._float_dtype().name}
                build_from_spec(model, spec)
        optimizer = model.optimizer
        if optimizer is not None and not optimizer.param_groups and model._fully_built():
            optimizer.bind(list(model.parameters()))

    def _attach(self, optimizer):
        from chainrule.optim import LBFGS

        if isinstance(optimizer, LBFGS):
            raise ConfigError("fit on several ranks: LBFGS re-evaluates the loss in its line search, which "
                              "data-parallel steps do not support; hint: use sgd, adam, rmsprop, ...")
        inner_step = optimizer.step
        synchronized = []
        if optimizer.param_groups:
            synchronize(optimizer)
            synchronized.append(True)

        def step(closure=None):
            if not synchronized:
                synchronize(optimizer)
                synchronized.append(True)
            notes = (self.model._fit_state or {}).get("non_finite")
            note = notes.pop() if notes else None
            if average_gradients(optimizer, None if notes is None else note is not None):
                raise NonFiniteStep(self.non_finite(note, agreed=True))
            return inner_step(closure)

        optimizer.step = step  # an instance attribute, shadowing the class's step for this run
        self._scale_lr(optimizer, self.lr_factor)
        self.attached.append(optimizer)

    @staticmethod
    def _scale_lr(optimizer, factor):
        if factor == 1:
            return
        for group in optimizer.param_groups:
            group["lr"] *= factor
        if "lr" in optimizer.defaults:
            optimizer.defaults["lr"] *= factor

    def epoch_begin(self, epoch):
        for sampler in self.samplers:
            sampler.set_epoch(epoch)

    def train_logs(self, logs):
        """The epoch's training logs averaged over the ranks (every rank ran as many samples); every
        rank's random state kept for a checkpoint written at the epoch's end."""
        from chainrule import random as cr_random

        self._share_running_statistics()
        self.model._fit_state["distributed"]["random_states"] = allgather_object(
            cr_random.get_state(), "fit (random states)")
        return _mean_logs(logs, 1.0, "fit (training logs)")

    def val_logs(self, logs):
        return _mean_logs(logs, self.val_weight, "fit (validation logs)")

    def _share_running_statistics(self):
        """Rank 0's buffers (BatchNorm running statistics) on every rank, so eval agrees everywhere."""
        buffers = [b for _, b in self.model.named_buffers() if b is not None
                   and numpy.asarray(b._data).dtype.kind == "f"]
        if buffers:  # the same model on every rank: all skip, or none
            broadcast_arrays([b._data for b in buffers], 0, "fit (running statistics)")

    def non_finite(self, reason, agreed=False):
        """None if no rank found a non-finite value (``reason`` is this rank's finding, or None), else
        the same message on every rank, naming the ranks that found one and what they found.
        ``agreed``: the ranks already know that one did (so only the reasons travel)."""
        if not agreed:
            (count,) = allreduce_arrays([numpy.array([0.0 if reason is None else 1.0])], "sum",
                                        "fit (non-finite check)")
            if count[0] == 0:
                return None
        found = [(r, text) for r, text in enumerate(allgather_object(reason, "fit (non-finite reasons)"))
                 if text is not None]
        if len(found) == 1:
            return f"on rank {found[0][0]} of {size()}, {found[0][1]}"
        return (f"on ranks {', '.join(str(r) for r, _ in found)} of {size()}: "
                + "; ".join(f"rank {r}: {text}" for r, text in found))

    def stop(self, flag):
        """True on every rank if any rank wants to stop."""
        (agreed,) = allreduce_arrays([numpy.array([1.0 if flag else 0.0])], "max", "fit (stop)")
        return bool(agreed[0])

    def end(self):
        for optimizer in self.attached:
            optimizer.__dict__.pop("step", None)
            self._scale_lr(optimizer, 1.0 / self.lr_factor)
        self.attached = []
        if self.temporary is not None:
            os.unlink(self.temporary)
            self.temporary = None


def _draw_seed():
    from chainrule import random as cr_random

    return int(cr_random.generator().integers(2**62))


def _mean_logs(logs, weight, what):
    """Each log's mean over the ranks, weighted by ``weight`` (this rank's samples); order kept."""
    names = list(logs)
    values = numpy.array([logs[name] * weight if weight else 0.0 for name in sorted(names)] + [weight],
                         dtype=numpy.float64)
    (total,) = allreduce_arrays([values], "sum", what)
    means = {name: float(total[i] / total[-1]) for i, name in enumerate(sorted(names))}
    return {name: means[name] for name in names}


class _Strided:
    """Indices rank, rank + size, ... of n: a validation shard (uneven sizes are fine there)."""

    def __init__(self, n, rank, size):
        self.n, self.rank, self.size = n, rank, size

    def __iter__(self):
        return iter(range(self.rank, self.n, self.size))

    def __len__(self):
        return len(range(self.rank, self.n, self.size))
