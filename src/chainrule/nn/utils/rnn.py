"""``torch.nn.utils.rnn.pad_sequence``: sequences of different lengths as one padded batch, what a
``DataLoader``'s ``collate_fn`` for text returns."""

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
