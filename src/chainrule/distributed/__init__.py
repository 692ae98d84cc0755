"""Data-parallel training on MPI: many processes, one model, the mean gradient.

Start the processes with the MPI launcher (``mpiexec -n 4 python train.py``, or ``srun`` on a
Slurm cluster); in the script, call :func:`init` first. Each rank then trains on its own shard of
the data and every step uses the gradient averaged over all ranks, so the ranks hold the same
weights throughout.

    import chainrule as cr
    cr.distributed.init()
    model.compile(loss="cross_entropy", optimizer="adam")
    model.fit(x, y, batch_size=64)   # 64 per rank; rank 0 prints and writes files

Lower level (PyTorch-style loops): ``cr.distributed.Optimizer(optimizer)`` averages gradients and
starts every rank from rank 0's weights, and ``cr.data.DistributedSampler`` shards a data set.

mpi4py is imported by :func:`init`, not by ``import chainrule`` (importing mpi4py starts MPI).
Without ``init()``, or with a single rank, nothing is communicated: ``rank()`` is 0, ``size()`` 1,
``allreduce`` returns a copy.
"""

from chainrule.distributed.collectives import broadcast_object
from chainrule.distributed.optimizer import Optimizer, broadcast_optimizer_state, broadcast_parameters
from chainrule.distributed.reduce import all_sum, allreduce, barrier
from chainrule.distributed.world import (
    TIMEOUT_VARIABLE,
    abort,
    active,
    init,
    is_initialized,
    is_main,
    local_rank,
    rank,
    size,
)
