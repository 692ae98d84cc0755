"""Is this the main process? The one question a callback that writes files asks under MPI.

Under ``mpirun -n 4`` every rank runs the same script; files meant once per run (TensorBoard event
files, plots) are written by rank 0 alone. The check needs no MPI: without it every process is the
main one. It asks, in order, an MPI already initialised in this process (mpi4py, which
``chainrule.distributed`` builds on), then the rank the launchers put in the environment (Open MPI,
MPICH/Hydra, PMIx), so a rank that has not imported mpi4py yet answers the same.
"""

import os
import sys

# the variables MPI launchers set to each process's rank in the world communicator
RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")


def rank():
    """This process's rank in the MPI world, 0 without MPI."""
    mpi = sys.modules.get("mpi4py.MPI")  # only if already imported: importing MPI would initialise it
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        return mpi.COMM_WORLD.Get_rank()
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def is_main_process():
    """True on rank 0 and wherever MPI is not in use."""
    return rank() == 0
