"""A one-pass Numba kernel for the embedding's backward: each gradient row added into its table row.

The NumPy form in :class:`chainrule.nn.layers.embedding.EmbeddingScatter` is the reference: a stable
sort of the indices, a gather of the rows into index order, and ``add.reduceat`` over each run of
equal indices. That is four passes and two temporaries the size of the gradient; the kernel reads
each gradient row once, in the order given (the rows' memory order), and adds it into ``out[index]``.

Order of additions, hence equality: the kernel adds the rows of one index one after another in
the gradient's own dtype (float32 stays float32, as in the NumPy form), in the order the stable sort
of the NumPy form also visits them; ``add.reduceat`` may group those additions pairwise, so the two
forms agree to within the usual summation bound (2·n·u·Σ|g| for n rows of an index), and the kernel
agrees bit for bit with a sequential ``numpy.add.at`` in the same order (except that an index whose
only rows are -0.0 ends at +0.0 here). tests/fast/test_embedding_kernel.py checks both.

Importing this module compiles nothing: Numba compiles at the first call for a set of dtypes and
layouts, or loads its disk cache.
"""

import numba


@numba.njit(cache=True, nogil=True, error_model="numpy")
def scatter_add_rows(rows, indices, out):
    """out[indices[i]] += rows[i] for i = 0, 1, ... in order; -1, or the first i whose index is outside.

    rows (N, D), indices (N,) integers (negative ones count from the end, as in NumPy), out (V, D)
    of the dtype of rows. An index outside [-V, V) stops the pass (``out`` is then partly written)
    and its position comes back, so the caller can raise; a compiled loop must not write outside.
    """
    vocab, dim = out.shape
    for i in range(rows.shape[0]):
        row = indices[i]
        if row < 0:
            row += vocab
        if row < 0 or row >= vocab:
            return i
        target, source = out[row], rows[i]
        for j in range(dim):
            target[j] += source[j]
    return -1
