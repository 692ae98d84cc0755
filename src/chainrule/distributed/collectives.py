"""Collectives on arrays: allreduce and broadcast over flat buffers, checked and with a deadline.

Only the buffer-based (uppercase) mpi4py calls move data: the pickling (lowercase) ones copy every
array through a bytes object. Many arrays travel as one flat buffer per
dtype (a bucket), so a step pays the latency of one collective instead of one per parameter.

Before the data, the ranks compare a small header (element count, number of arrays, a checksum
of the shapes and dtypes) with one allreduce of the maximum of (v, -v): a rank that brings
other sizes makes every rank raise the same clear error, instead of a hang or a sum of
misaligned numbers.
"""

import zlib

import numpy

from chainrule.distributed.wait import wait_for
from chainrule.distributed.world import active, world
from chainrule.errors import ShapeError

OPS = ("mean", "sum", "max", "min")


def _mpi_op(op):
    from mpi4py import MPI

    return {"mean": MPI.SUM, "sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def check_same_layout(arrays, what):
    """Raise ShapeError on every rank unless all ranks bring arrays of the same shapes and dtypes."""
    from mpi4py import MPI

    layout = ";".join(f"{a.shape}{a.dtype.str}" for a in arrays).encode()
    header = numpy.array([sum(a.size for a in arrays), len(arrays), zlib.crc32(layout)], dtype=numpy.int64)
    both = numpy.concatenate([header, -header])
    extremes = numpy.empty_like(both)
    wait_for(world.comm.Iallreduce(both, extremes, op=MPI.MAX), f"{what} (size check)")
    largest, smallest = extremes[:3], -extremes[3:]
    if (largest != smallest).any():
        raise ShapeError(
            f"distributed.{what}: the ranks passed different arrays: this rank (rank "
            f"{world.comm.Get_rank()}) has {header[0]} elements in {header[1]} array(s) "
            f"({', '.join(f'{a.shape} {a.dtype}' for a in arrays[:4])}{', ...' if len(arrays) > 4 else ''}), "
            f"other ranks between {smallest[0]} and {largest[0]} elements in {smallest[1]} to {largest[1]} "
            "array(s); every rank must reduce arrays of the same shapes and dtypes in the same order")


def allreduce_arrays(arrays, op="mean", what="allreduce"):
    """Reduce each array over the ranks; returns new arrays (the inputs are not written).

    "mean" of integer (or boolean) arrays gives float64 arrays.
    """
    from chainrule.errors import ConfigError

    if op not in OPS:
        raise ConfigError(f"distributed.allreduce: op must be one of {', '.join(OPS)}, got {op!r}")
    arrays = [numpy.asarray(a) for a in arrays]
    if op == "mean":  # the mean of integers is not an integer
        arrays = [a.astype(numpy.float64) if a.dtype.kind in "biu" else a for a in arrays]
    if not active():
        return [a.copy() for a in arrays]
    check_same_layout(arrays, what)
    results = [None] * len(arrays)
    from mpi4py import MPI

    for members in _buckets(arrays):
        flat = _flat(arrays, members)
        wait_for(world.comm.Iallreduce(MPI.IN_PLACE, flat, op=_mpi_op(op)), what)
        if op == "mean":
            flat /= world.comm.Get_size()
        for i, part in zip(members, _parts(flat, arrays, members)):
            results[i] = part
    return results


def broadcast_arrays(arrays, root=0, what="broadcast"):
    """Overwrite each array (in place) with root's values."""
    arrays = list(arrays)
    if not active():
        return
    check_same_layout(arrays, what)
    for members in _buckets(arrays):
        flat = _flat(arrays, members)
        wait_for(world.comm.Ibcast(flat, root=root), what)
        for i, part in zip(members, _parts(flat, arrays, members)):
            arrays[i][...] = part


def broadcast_object(value, root=0, what="broadcast"):
    """Root's picklable ``value`` on every rank (for small things sent once: seeds, settings)."""
    if not active():
        return value
    payload = numpy.frombuffer(_pickle(value), dtype=numpy.uint8) if world.comm.Get_rank() == root else None
    length = numpy.array([0 if payload is None else payload.size], dtype=numpy.int64)
    wait_for(world.comm.Ibcast(length, root=root), f"{what} (length)")
    buffer = payload.copy() if payload is not None else numpy.empty(int(length[0]), dtype=numpy.uint8)
    wait_for(world.comm.Ibcast(buffer, root=root), what)
    import pickle

    return pickle.loads(buffer.tobytes())


def allgather_object(value, what="allgather"):
    """``[rank 0's value, rank 1's, ...]`` on every rank, for small picklable values (random states)."""
    if not active():
        return [value]
    from mpi4py import MPI

    payload = numpy.frombuffer(_pickle(value), dtype=numpy.uint8)
    lengths = numpy.empty(world.comm.Get_size(), dtype=numpy.int64)
    wait_for(world.comm.Iallgather(numpy.array([payload.size], dtype=numpy.int64), lengths),
             f"{what} (lengths)")
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)[:-1]])
    buffer = numpy.empty(int(lengths.sum()), dtype=numpy.uint8)
    wait_for(world.comm.Iallgatherv(payload, [buffer, lengths, offsets, MPI.BYTE]), what)
    import pickle

    return [pickle.loads(buffer[o:o + n].tobytes()) for o, n in zip(offsets, lengths)]


def _pickle(value):
    import pickle

    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _buckets(arrays):
    """Lists of indices of the arrays that travel together (one per dtype), in their order."""
    buckets = {}
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "biuf":
            raise ShapeError(f"distributed: can only reduce numeric arrays, got dtype {a.dtype}")
        buckets.setdefault(a.dtype, []).append(i)
    return list(buckets.values())


def _flat(arrays, members):
    """A new contiguous buffer holding ``arrays[i]`` for i in ``members``, one after the other."""
    if len(members) == 1:
        return arrays[members[0]].reshape(-1).copy()
    return numpy.concatenate([arrays[i].reshape(-1) for i in members])


def _parts(flat, arrays, members):
    """Views of ``flat`` shaped like the member arrays."""
    start = 0
    for i in members:
        size = arrays[i].size
        yield flat[start:start + size].reshape(arrays[i].shape)
        start += size
