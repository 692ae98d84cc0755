"""A recurrent layer over a PackedSequence: each sequence stops at its own end, as in PyTorch.

The time axis is cut where sequences end (at each distinct length). Each cut runs the layer's own
recurrence on the sequences still going, starting from their states at the end of the cut before;
a sequence's final state is its state at its last step, and its outputs past that are zeros. The
backward direction of a bidirectional layer runs the cuts from the end, each sequence joining
at its own last step with its initial state. Everything is the ops' (gathers, scatters, where), so
the gradients are theirs.
"""

import numpy

from chainrule.nn.layers.dropout import dropout as apply_dropout
from chainrule.ops.elementwise import where
from chainrule.ops.index import ScatterAdd, getitem
from chainrule.ops.shape import concatenate, stack


def forward_packed(layer, packed, hx):
    """``(PackedSequence of the outputs, final states)`` of ``layer`` (an RNN, LSTM or GRU) on ``packed``."""
    from chainrule.nn.utils.rnn import PackedSequence

    x, lengths = packed.padded, packed.lengths
    initial = layer._initial_states(hx, x, True)
    directions = 2 if layer.bidirectional else 1
    finals = [[] for _ in initial]
    for depth in range(layer.num_layers):
        if depth > 0 and layer.training and layer.dropout > 0:
            x = apply_dropout(x, layer.dropout)
        outputs = []
        for d in range(directions):
            k = depth * directions + d
            out, last = _direction(layer, x, lengths, depth, d == 1, [s[k] for s in initial])
            outputs.append(out)
            for kind, state in zip(finals, last):
                kind.append(state)
        x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
    finals = [stack(kind) for kind in finals]
    return PackedSequence(x, lengths), (tuple(finals) if layer.mode == "LSTM" else finals[0])


def _direction(layer, x, lengths, depth, reverse, states):
    """One layer, one direction: (outputs (T, N, H), zeros past each length; final state per kind)."""
    batch = x.shape[1]
    ends = sorted(set(lengths.tolist()))
    cuts = list(zip([0] + ends[:-1], ends))  # time ranges [a, b): the sequences with length ≥ b run
    if reverse:
        cuts = cuts[::-1]
    current, final = list(states), list(states)
    pieces = {}
    for start, stop in cuts:
        going = numpy.flatnonzero(lengths >= stop)
        out, last = layer._direction(getitem(x, (slice(start, stop), going)), depth, reverse,
                                     [getitem(s, going) for s in current])
        steps = stop - start
        hidden = out if out.shape[0] == steps else getitem(out, slice(0, steps))
        pieces[start] = ScatterAdd((slice(None), going), False, (steps, batch, hidden.shape[2]))(hidden)
        mask = numpy.zeros((batch, 1), dtype=bool)
        mask[going] = True
        current = [where(mask, ScatterAdd(going, False, (batch, s.shape[1]))(new), s)
                   for s, new in zip(current, last)]
        if not reverse:  # the sequences that end here: their final states
            done = (lengths == stop)[:, None]
            final = [where(done, c, f) for c, f in zip(current, final)]
    if reverse:
        final = current  # every sequence's backward pass ends at its first step
    return concatenate([pieces[start] for start in sorted(pieces)], 0), final
