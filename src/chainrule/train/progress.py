"""Progress reporting for ``fit``: a callback, so the loop itself never writes anything.

``verbose`` is monotonic: 0 writes nothing; 1 writes one line per epoch (a tqdm bar per epoch
instead when tqdm is installed and the output is a terminal, with the epoch line as the bar's
closing text); 2 adds a line at the start (samples, batches) and one at the end (epochs run, time),
and the learning rate in each epoch line.

    Epoch 3/20 - 1.42s - loss: 0.1834 - accuracy: 0.9461 - val_loss: 0.1702 - val_accuracy: 0.9500
"""

import sys
import time

from chainrule.train.callbacks import Callback, get_lr


def write_line(line, stream=None):
    """Write one line of progress text to ``stream`` (standard output by default) and flush it."""
    stream = stream if stream is not None else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def format_logs(logs):
    """``"loss: 0.1834 - accuracy: 0.9461"`` from a dict of numbers (non-scalars left out)."""
    parts = []
    for key, value in logs.items():
        if isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0:
            parts.append(f"{key}: {float(value):.4g}" if key == "lr" else f"{key}: {float(value):.4f}")
    return " - ".join(parts)


class EpochLines(Callback):
    """One plain line per epoch (and, at verbose 2, a first and a last line), written to ``stream``."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self._stream = stream

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout  # looked up late: capture works

    def write(self, line):
        write_line(line, self.stream)

    def on_train_begin(self, logs=None):
        self._train_start = time.perf_counter()
        self._epochs_run = 0
        if self.verbose >= 2:
            samples = self.params.get("samples")
            text = f"Training on {samples} samples" if samples is not None else "Training"
            text += f" in {self.params.get('steps')} batches per epoch"
            if self.params.get("val_samples"):
                text += f", validating on {self.params['val_samples']} samples"
            self.write(text)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def epoch_line(self, epoch, logs):
        seconds = time.perf_counter() - self._epoch_start
        logs = dict(logs or {})
        if self.verbose >= 2 and "lr" not in logs and getattr(self.model, "optimizer", None) is not None:
            logs["lr"] = get_lr(self.model.optimizer)
        text = f"Epoch {epoch + 1}/{self.params.get('epochs')} - {seconds:.2f}s"
        body = format_logs(logs)
        return text + (" - " + body if body else "")

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_run += 1
        self.write(self.epoch_line(epoch, logs))

    def on_train_end(self, logs=None):
        if self.verbose >= 2:
            seconds = time.perf_counter() - self._train_start
            self.write(f"Trained {self._epochs_run} epochs in {seconds:.2f}s")


class TqdmBar(EpochLines):
    """A tqdm bar over each epoch's batches on a terminal; the epoch line closes each bar."""

    refresh_every = 10  # batches between updates of the bar's loss text (formatting costs time)

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm

        super().on_epoch_begin(epoch, logs)
        description = f"Epoch {epoch + 1}/{self.params.get('epochs')}"
        self._bar = tqdm(total=self.params.get("steps"), desc=description,
                         file=self.stream, leave=False, unit="batch", dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(1)
        if logs and batch % self.refresh_every == 0:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.close()
        super().on_epoch_end(epoch, logs)


def _tqdm_available():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def make(verbose, stream=None, keras=False):
    """The progress callback for ``verbose`` (None for 0): a tqdm bar or plain epoch lines.

    ``keras=True`` reads ``verbose`` as Keras does (the ``chainrule.keras`` models): 2 is one plain
    line per epoch, never a bar, where the engine's own 2 means more detail."""
    if not verbose:
        return None
    if keras and verbose == 2:
        return EpochLines(1, stream)
    out = stream if stream is not None else sys.stdout
    interactive = getattr(out, "isatty", lambda: False)()
    if verbose == 1 and interactive and _tqdm_available():
        return TqdmBar(verbose, stream)
    return EpochLines(verbose, stream)
