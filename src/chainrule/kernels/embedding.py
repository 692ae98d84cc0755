"""The embedding's backward (rows of g added into their table rows) in one pass, or sorted and summed in runs.

The reference (``xp.add.at``) is unbuffered and slow. Here g is read in its memory order (a
batch_first layer hands a transposed view; the small integer indices are permuted instead of the
rows copied), then either the Numba kernel of :mod:`chainrule.kernels.compiled.embedding` adds each
row in one pass, or the rows are sorted by index and each run summed with ``add.reduceat``.
"""

from chainrule.autograd.seam import register
from chainrule.errors import ShapeError
from chainrule.kernels import compiled
from chainrule.nn.layers.embedding import EmbeddingScatter


def scatter_forward(op, g):
    xp, dim = op.xp, g.shape[-1]
    # zeros then a scatter, as PyTorch's dense backward does: for a large table the zeros are
    # fresh pages from calloc, and only the rows that are looked up are ever touched
    out = xp.zeros((op.num_embeddings, dim), dtype=g.dtype)
    rows, flat = _rows_in_memory_order(xp, g, op.indices)
    kernels = compiled.load("embedding")
    if kernels is not None:
        # one pass over the rows in memory order, adding in g's dtype (compiled/embedding.py)
        bad = kernels.scatter_add_rows(rows, flat, out)
        if bad >= 0:
            raise ShapeError(f"Embedding backward: indices must lie in [0, {op.num_embeddings}), "
                             f"got {flat[bad]}: check the indices given to the lookup")
    elif flat.size and hasattr(xp.add, "reduceat"):
        if flat.min() < 0:  # -1 and V-1 name one row: one run of the sort, not two that overwrite
            flat = flat % op.num_embeddings
        # sort the rows by index and sum each run: about 3x faster than add.at (measured); a
        # stable sort of 16-bit keys is a radix sort, 8x faster than sorting int64 keys
        keys = flat.astype(xp.int16) if op.num_embeddings <= 1 << 15 else flat
        order = xp.argsort(keys, kind="stable")
        ordered = flat[order]
        starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool), ordered[1:] != ordered[:-1]]))
        out[ordered[starts]] = xp.add.reduceat(rows[order], starts, axis=0)
    else:
        xp.add.at(out, flat, rows)
    if op.padding_idx is not None:
        out[op.padding_idx] = 0
    return out


def _rows_in_memory_order(xp, g, indices):
    """g (*S, D) as rows (prod S, D) and the indices (*S) flattened in the same order, without copying g.

    A gradient that arrives as a transposed view (a batch_first layer's swapaxes) is read in the
    order of its memory: the leading axes are permuted until g is C-contiguous, and the (small, integer)
    indices are permuted the same way, instead of copying the rows into index order.
    """
    lead = g.ndim - 1
    if not g.flags.c_contiguous and lead > 1 and g.strides[-1] == g.itemsize:
        axes = sorted(range(lead), key=lambda k: -abs(g.strides[k]))
        view = g.transpose(axes + [lead])
        if view.flags.c_contiguous:
            return view.reshape(-1, g.shape[-1]), xp.ascontiguousarray(indices.transpose(axes)).reshape(-1)
    return g.reshape(-1, g.shape[-1]), indices.reshape(-1)


register(EmbeddingScatter, forward=scatter_forward)
