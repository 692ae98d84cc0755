"""``torch.nn.utils.rnn``: sequences of different lengths as one padded batch (``pad_sequence``, what a
``DataLoader``'s ``collate_fn`` for text returns), and packed for a recurrent layer
(``pack_padded_sequence``, ``pad_packed_sequence``), which then stops each sequence at its own end."""

import numpy

from chainrule import ops
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """(longest, batch, *) (or (batch, longest, *) with ``batch_first``), each sequence padded with
    ``padding_value`` on the right (or the left); differentiable in the sequences."""
    sequences = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    if not sequences:
        raise ShapeError("pad_sequence: needs at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side is 'right' or 'left', got {padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    if any(tuple(s.shape[1:]) != trailing for s in sequences):
        raise ShapeError(f"pad_sequence: sequences must agree past their first dim, got "
                         f"{[tuple(s.shape) for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        side = (0, extra) if padding_side == "right" else (extra, 0)
        padded.append(ops.pad(s, [side] + [(0, 0)] * len(trailing), padding_value))
    return ops.stack(padded, 0 if batch_first else 1)


class PackedSequence:
    """Sequences of different lengths for a recurrent layer, as ``pack_padded_sequence`` makes them.

    Kept here as the padded time-major tensor ``padded`` (T, N, *) and the ``lengths`` in the caller's
    batch order; ``data`` and ``batch_sizes`` give PyTorch's packed layout (the time steps one after
    the other, longest sequences first) for code that reads them.
    """

    def __init__(self, padded, lengths):
        self.padded, self.lengths = padded, numpy.asarray(lengths, dtype=numpy.int64)

    @property
    def sorted_indices(self):
        return Tensor(numpy.argsort(-self.lengths, kind="stable"))

    @property
    def unsorted_indices(self):
        return Tensor(numpy.argsort(self.sorted_indices.numpy(), kind="stable"))

    @property
    def batch_sizes(self):
        return Tensor(numpy.array([(self.lengths > t).sum() for t in range(self.lengths.max())]))

    @property
    def data(self):
        order = self.sorted_indices.numpy()
        steps = [ops.getitem(self.padded, (t, order[self.lengths[order] > t]))
                 for t in range(int(self.lengths.max()))]
        return ops.concatenate(steps, 0)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """The padded batch ``input`` as a PackedSequence of the given ``lengths`` (each at least 1)."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    lengths = numpy.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths, dtype=numpy.int64)
    if batch_first:
        x = ops.swapaxes(x, 0, 1)
    if lengths.ndim != 1 or len(lengths) != x.shape[1]:
        raise ShapeError(f"pack_padded_sequence: {len(lengths)} lengths for a batch of {x.shape[1]}")
    if lengths.min() < 1 or lengths.max() > x.shape[0]:
        raise ValueError(f"pack_padded_sequence: lengths must lie in 1 … {x.shape[0]}, got "
                         f"{lengths.tolist()}")
    if enforce_sorted and numpy.any(numpy.diff(lengths) > 0):
        raise ValueError("pack_padded_sequence: lengths must be sorted in decreasing order when "
                         "enforce_sorted=True; pass enforce_sorted=False to have them sorted")
    return PackedSequence(ops.getitem(x, slice(0, int(lengths.max()))), lengths)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [len(s) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(the padded batch, the lengths as an int64 tensor), zeros (or ``padding_value``) past each length."""
    padded, lengths = sequence.padded, sequence.lengths
    steps = padded.shape[0] if total_length is None else int(total_length)
    if steps < padded.shape[0]:
        raise ValueError(f"pad_packed_sequence: total_length {steps} is shorter than the longest sequence, "
                         f"{padded.shape[0]}")
    keep = (numpy.arange(padded.shape[0])[:, None] < lengths[None, :]).reshape(
        padded.shape[:2] + (1,) * (padded.ndim - 2))
    out = ops.where(keep, padded, numpy.asarray(padding_value, dtype=padded.dtype))
    if steps > padded.shape[0]:
        out = ops.pad(out, [(0, steps - padded.shape[0])] + [(0, 0)] * (padded.ndim - 1), padding_value)
    return (ops.swapaxes(out, 0, 1) if batch_first else out), Tensor(lengths.copy())
