"""The TensorBoard callback: ``fit``'s logs as event files that ``tensorboard --logdir DIR`` shows.

Keras's layout, so that Keras users find their way and the curves overlay: ``DIR/train`` and
``DIR/validation`` are two runs holding the same tags (``epoch_loss``, ``epoch_accuracy``; the
``val_`` prefix becomes the run), the learning rate is ``epoch_learning_rate`` in the train run,
weight and gradient histograms (``0.weight/histogram``, ``0.weight/gradient``) go to the train run
every ``histogram_freq`` epochs, and ``update_freq=N`` adds ``batch_loss`` ... every N batches.
The run's hyperparameters go to ``DIR`` itself (TensorBoard's HPARAMS tab), their metrics pointing
at the two runs, and the model's graph (its ONNX export, where :mod:`chainrule.onnx` can express
it) to the train run, as Keras does with ``write_graph``. Each run is its own writer, so two runs
never share an event file; a second ``fit`` adds new files beside the old ones. Under MPI only
rank 0 writes.

The writer is tensorboardX's (the ``tensorboard`` extra): event files without TensorFlow.
"""

import contextlib
import io
import itertools
import logging
import math
import os
import tempfile
import uuid

import numpy

from chainrule.errors import ChainruleError, ConfigError
from chainrule.train.callbacks import Callback, get_lr, model_optimizers
from chainrule.train.process import is_main_process

_WRITERS_OPENED = itertools.count()
logger = logging.getLogger("chainrule.tensorboard")


class TensorBoard(Callback):
    """Write the epoch logs, learning rate, histograms, images and hyperparameters for TensorBoard.

    Arguments:
        log_dir: the directory ``tensorboard --logdir`` is pointed at.
        histogram_freq: every how many epochs to write weight and gradient histograms (0: never).
        write_images: also write images: the 2-D weights as pictures (with the histograms), and,
            given ``sample_inputs``, those inputs and, where the outputs are images too (an
            autoencoder's reconstructions), the model's outputs for them, every
            ``max(histogram_freq, 1)`` epochs.
        update_freq: "epoch", or write the running batch logs every this many batches ("batch": 1).
        sample_inputs: a few inputs shown as images: (n, h, w), (n, c, h, w) or flat squares (n, 784).
        hparams: the run's hyperparameters ({"units": 64, ...}); the optimiser's name and
            learning rate, the batch size and the epochs are added to them.
        write_graph: the model's graph, from its ONNX export (the ``onnx`` extra), after the first
            epoch; a model ONNX cannot express trains without one.
    """

    # distributed fit (chainrule.distributed) keeps such callbacks on rank 0 alone; without it the
    # callback still asks is_main_process() itself (a script started by mpirun without init())
    main_rank_only = True

    def __new__(cls, *args, **kwargs):
        # Only a per-batch writer defines a batch hook: fit calls batch hooks (and computes the
        # batch logs for them) only for callbacks whose class defines one, so epoch logging stays free.
        update_freq = kwargs.get("update_freq", args[3] if len(args) > 3 else "epoch")
        if cls is TensorBoard and update_freq != "epoch":
            cls = _TensorBoardPerBatch
        return super().__new__(cls)

    def __init__(self, log_dir="logs", histogram_freq=0, write_images=False, update_freq="epoch",
                 sample_inputs=None, hparams=None, write_graph=True):
        super().__init__()
        update_freq = 1 if update_freq == "batch" else update_freq  # Keras's name for 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ConfigError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive number of "
                              f"batches, got {update_freq!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ConfigError(f"TensorBoard: histogram_freq must be a whole number >= 0, "
                              f"got {histogram_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_images = write_images
        self.update_freq = update_freq
        self.sample_inputs = None if sample_inputs is None else numpy.asarray(sample_inputs)
        self.hparams = dict(hparams or {})
        self.write_graph = write_graph
        self._writers = {}
        self._batches_seen = 0

    # ---------------------------------------------------------------- writers, one per run
    def _writer(self, run):
        """The writer of ``run`` ("train", "validation", or "" for the log directory itself)."""
        if run not in self._writers:
            from tensorboardX import SummaryWriter

            # tensorboardX names a file by the second and the host only: two writers opened in the same
            # second (two fits, two processes) would share one; the suffix makes each file its own
            suffix = f".{os.getpid()}.{next(_WRITERS_OPENED)}.{uuid.uuid4().hex[:8]}"
            self._writers[run] = SummaryWriter(os.path.join(self.log_dir, run) if run else self.log_dir,
                                               filename_suffix=suffix)
        return self._writers[run]

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    @property
    def _active(self):
        return is_main_process()

    # ---------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        if not self._active:
            return
        try:
            import tensorboardX  # noqa: F401  (fail at the start, not after an epoch of work)
        except ImportError:
            raise ModuleNotFoundError("TensorBoard needs tensorboardX: "
                                      "pip install \"chainrule[tensorboard]\"", name="tensorboardX") from None
        self._last_logs = {}
        self._first_lr = None  # the hyperparameter: the rate of the first epoch (a schedule's first)
        if self.write_images and self.sample_inputs is not None:
            images = as_images(self.sample_inputs)
            if images is not None:
                self._writer("train").add_images("samples/input", images, 0, dataformats="NCHW")

    def on_epoch_end(self, epoch, logs=None):
        if not self._active:
            return
        logs = logs or {}
        first_epoch = not self._last_logs
        self._last_logs = dict(logs)
        train, validation = self._writer("train"), None
        if first_epoch and self.write_graph:  # now the model is built and knows its input
            self._write_graph(train)
        for key, value in logs.items():
            if numpy.ndim(value) != 0 or key == "lr":
                continue
            if key.startswith("val_"):
                validation = validation or self._writer("validation")
                validation.add_scalar("epoch_" + key[4:], float(value), epoch)
            else:
                train.add_scalar("epoch_" + key, float(value), epoch)
        lr = self._learning_rate(logs)
        if lr is not None:
            train.add_scalar("epoch_learning_rate", lr, epoch)
            self._first_lr = lr if self._first_lr is None else self._first_lr
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(train, epoch)
        if self.write_images and self.sample_inputs is not None and epoch % max(self.histogram_freq, 1) == 0:
            self._write_outputs(train, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        if not self._active:
            return
        try:
            self._write_hparams()
        finally:
            self._close()

    # ---------------------------------------------------------------- what is written
    def _learning_rate(self, logs):
        if "lr" in logs:  # a learning-rate callback put the rate it set in the logs
            return float(logs["lr"])
        try:
            return get_lr(model_optimizers(self.model, "TensorBoard")[0])
        except ChainruleError:  # a model whose step brings no optimiser we can see: no rate to show
            return None

    def _write_graph(self, writer):
        """The model as an ONNX graph (TensorBoard's GRAPHS tab), where it can be exported.

        Needs the ``onnx`` extra; a model without a known input shape, or with a layer ONNX cannot
        express, gets no graph (a debug line says why) and trains all the same.
        """
        spec = getattr(self.model, "input_spec", None)
        if not spec or any(size is None for size in spec["shape"][1:]):
            logger.debug("TensorBoard: no graph: the model does not know its input shape")
            return
        try:
            from chainrule import onnx as chainrule_onnx

            sample = numpy.zeros((1, *spec["shape"][1:]), dtype=spec["dtype"])
            with tempfile.TemporaryDirectory() as directory:
                path = chainrule_onnx.export(self.model, os.path.join(directory, "model.onnx"), sample)
                with contextlib.redirect_stdout(io.StringIO()):  # tensorboardX prints every node name
                    writer.add_onnx_graph(str(path))
        except (ImportError, ChainruleError) as error:  # no onnx package, or a layer ONNX cannot express
            logger.debug(f"TensorBoard: no graph: {error}")
        except Exception as error:  # the graph is a picture: a failed export must not stop training
            logger.warning(f"TensorBoard: no graph, the ONNX export failed: {error!r}")

    def _write_weights(self, writer, epoch):
        for name, parameter in self.model.named_parameters():
            values = numpy.asarray(parameter._data)
            if values.size == 0 or not numpy.issubdtype(values.dtype, numpy.floating):
                continue
            writer.add_histogram(f"{name}/histogram", values, epoch)
            grad = getattr(parameter, "grad", None)
            if grad is not None:  # the last batch's gradient
                writer.add_histogram(f"{name}/gradient", numpy.asarray(getattr(grad, "data", grad)), epoch)
            if self.write_images and values.ndim == 2:
                writer.add_image(f"{name}/image", _scaled(values)[None], epoch, dataformats="CHW")

    def _write_outputs(self, writer, epoch):
        outputs = self.model.predict(self.sample_inputs, verbose=0)
        images = as_images(outputs)
        if images is not None:
            writer.add_images("samples/output", images, epoch, dataformats="NCHW")

    def _write_hparams(self):
        from tensorboardX.summary import hparams

        values = {"optimizer": _optimizer_name(self.model), "learning_rate": self._first_lr,
                  "batch_size": self.params.get("batch_size"), "epochs": self.params.get("epochs")}
        values.update(self.hparams)
        values = {k: (v if isinstance(v, (bool, int, float, str)) else str(v))
                  for k, v in values.items() if v is not None}
        # metrics "run/tag": the HPARAMS tab looks each up as the tag in that run below this one
        metrics = {}
        for key, value in self._last_logs.items():
            if numpy.ndim(value) == 0 and key != "lr":
                run, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
                metrics[f"{run}/epoch_{tag}"] = float(value)
        experiment, start, end = hparams(values, metrics)
        _group_metrics(experiment)
        writer = self._writer("")
        for summary in (experiment, start, end):
            writer.file_writer.add_summary(summary)


class _TensorBoardPerBatch(TensorBoard):
    """TensorBoard with ``update_freq=N``: also the running batch logs every N batches."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._batches_seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches_seen += 1
        if not self._active or self._batches_seen % self.update_freq:
            return
        writer = self._writer("train")
        for key, value in (logs or {}).items():
            if numpy.ndim(value) == 0:
                writer.add_scalar("batch_" + key, float(value), self._batches_seen)


def _group_metrics(experiment):
    """Turn each metric name "run/tag" of an hparams experiment summary into group "run", tag "tag"."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    metadata = experiment.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(metadata.content)
    for info in content.experiment.metric_infos:
        info.name.group, info.name.tag = info.name.tag.split("/", 1)
    metadata.content = content.SerializeToString()


def _optimizer_name(model):
    optimizer = getattr(model, "optimizer", None)
    return type(optimizer).__name__ if optimizer is not None else None


def _scaled(values):
    """Values stretched to [0, 1] (a constant array becomes zeros)."""
    values = numpy.asarray(values, dtype=numpy.float32)
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else numpy.zeros_like(values)


def as_images(batch):
    """A batch as (n, c, h, w) images in [0, 1], or None when it does not look like images.

    Takes (n, h, w), (n, c, h, w) with 1 or 3 channels, and flat (n, s·s) squares (MNIST's 784).
    Values already in [0, 1] are kept (a dark reconstruction stays dark); others are stretched.
    """
    batch = numpy.asarray(getattr(batch, "data", batch), dtype=numpy.float32)
    if batch.ndim == 2 and batch.shape[1] > 1 and math.isqrt(batch.shape[1]) ** 2 == batch.shape[1]:
        side = math.isqrt(batch.shape[1])
        batch = batch.reshape(len(batch), 1, side, side)
    elif batch.ndim == 3:
        batch = batch[:, None]
    if batch.ndim != 4 or batch.shape[1] not in (1, 3) or min(batch.shape[2:]) < 2:
        return None
    if batch.size and (batch.min() < 0 or batch.max() > 1):
        batch = numpy.stack([_scaled(image) for image in batch])
    return batch
