"""The MPI world a distributed run lives in: start it, ask who we are, and end every rank together.

``init()`` is where mpi4py is first imported (importing it starts MPI), so ``import chainrule``
stays NumPy-only and a script that never calls ``init()`` runs exactly as it would without MPI.

Three ways one rank can leave the others waiting, and what ends the job instead:

- an uncaught exception: the excepthook installed here prints it, naming the rank, and calls
  ``MPI_Abort``, which makes the launcher kill every rank (as ``python -m mpi4py`` does);
- ``sys.exit`` (or the end of the script) on one rank while the others still train: an exit hook
  tells the others it is leaving (a message on a side communicator, seen by their next collective,
  which then aborts naming it), then waits for every rank to arrive at exit before MPI finalises;
- a rank killed by a signal: the launcher itself (mpiexec, srun) ends the job, and the watcher
  started beside each rank (:mod:`chainrule.distributed.watcher`) names it: rank, host, process id
  and signal.

A rank that stalls is caught by the deadline every collective has (:mod:`chainrule.distributed.wait`).
"""

import atexit
import os
import sys
import time
import traceback

DEFAULT_TIMEOUT = 300.0  # seconds a collective may wait for the slowest rank
TIMEOUT_VARIABLE = "CHAINRULE_DIST_TIMEOUT"


class _World:
    comm = None  # MPI.COMM_WORLD once init() ran
    side = None  # a duplicate of it for the messages about ranks (who arrived, who left)
    local_rank = 0
    timeout = DEFAULT_TIMEOUT
    scale_lr = None  # "linear": fit multiplies the learning rate by the number of ranks
    exiting = False
    watcher = None  # the process that names this rank if it dies without leaving


world = _World()


def init(timeout=None, scale_lr=None):
    """Start MPI (once; later calls only change the options given) and return the number of ranks.

    Arguments:
        timeout: seconds a collective waits for the slowest rank before the job is aborted, naming
            the ranks that did not arrive; default ``$CHAINRULE_DIST_TIMEOUT``, else 300.
        scale_lr: None (the default: the learning rate is what you set) or ``"linear"``: ``fit``
            multiplies every learning rate by the number of ranks (Goyal et al.'s linear rule, for a
            global batch that grows with the ranks).
    """
    from chainrule.errors import ConfigError

    if scale_lr not in (None, "linear"):
        raise ConfigError(f"distributed.init: scale_lr must be None or 'linear', got {scale_lr!r}")
    world.timeout = _timeout(timeout)
    world.scale_lr = scale_lr
    if world.comm is None:
        from mpi4py import MPI

        world.comm = MPI.COMM_WORLD
        world.side = world.comm.Dup()
        node = world.comm.Split_type(MPI.COMM_TYPE_SHARED, key=world.comm.Get_rank())
        world.local_rank = node.Get_rank()
        node.Free()
        if world.comm.Get_size() > 1:
            _log_processes()
            _start_watcher()
            sys.excepthook = _abort_on_uncaught
            atexit.register(_leave)  # runs before mpi4py's MPI_Finalize (registered earlier)
    return world.comm.Get_size()


def _log_processes():
    """Log (rank 0, level INFO) which process is which rank: a launcher that reports a killed
    process names its process id and host."""
    import logging
    import socket

    places = world.comm.allgather((os.getpid(), socket.gethostname()))
    if world.comm.Get_rank() == 0:
        logging.getLogger("chainrule.distributed").info(
            f"{len(places)} ranks: " + ", ".join(f"rank {r} = pid {pid} on {host}"
                                                   for r, (pid, host) in enumerate(places)))


def _start_watcher():
    """Start this rank's watcher (best effort: without it, only the launcher reports a killed rank)."""
    import socket
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "watcher.py")
    pmi = os.environ.get("PMI_FD", "")
    keep = (int(pmi),) if pmi.isdigit() and _is_open(int(pmi)) else ()
    try:
        world.watcher = subprocess.Popen([sys.executable, "-I", "-S", script], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, pass_fds=keep)
        _tell_watcher(f"rank {world.comm.Get_rank()} of {world.comm.Get_size()} (pid {os.getpid()} on "
                      f"{socket.gethostname()})\n")
    except OSError:
        world.watcher = None


def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _tell_watcher(text):
    if world.watcher is not None:
        try:
            world.watcher.stdin.write(text.encode())
            world.watcher.stdin.flush()
        except OSError:  # the watcher is gone: nothing to tell
            world.watcher = None


def _timeout(timeout):
    from chainrule.errors import ConfigError

    source = "timeout"
    if timeout is None:
        timeout, source = os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT), TIMEOUT_VARIABLE
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise ConfigError(f"distributed.init: {source} must be a positive number of seconds, got {timeout!r}")
    return value


def is_initialized():
    return world.comm is not None


def rank():
    """This process's rank, 0 to size() - 1 (0 without init())."""
    return world.comm.Get_rank() if world.comm is not None else 0


def size():
    """The number of ranks (1 without init())."""
    return world.comm.Get_size() if world.comm is not None else 1


def local_rank():
    """This process's rank among the ranks on its machine (e.g. to pick a GPU or a socket)."""
    return world.local_rank


def is_main():
    """True on rank 0, the rank that prints, logs and writes files (True without init())."""
    return rank() == 0


def active():
    """True when there is more than one rank: the only case in which anything is communicated."""
    return world.comm is not None and world.comm.Get_size() > 1


def abort(message, code=1):
    """Print ``message`` (prefixed with this rank) to stderr and end every rank of the job."""
    sys.stderr.write(f"chainrule.distributed: rank {rank()} of {size()}: {message}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    _tell_watcher("bye\n")  # this rank said why it ends
    time.sleep(0.5)  # let the launcher forward the message before it tears the job down
    world.comm.Abort(code)


def _abort_on_uncaught(kind, value, trace):
    sys.stderr.write("".join(traceback.format_exception(kind, value, trace)))
    abort(f"uncaught {kind.__name__}: {value}; aborting every rank of the job")


def _leave():
    """At exit: tell the other ranks this one leaves, and wait (with the deadline) until all have."""
    from chainrule.distributed import wait

    world.exiting = True
    wait.announce_departure()
    wait.wait_for(world.side.Ibarrier(), "exit (waiting for every rank to finish)")
    wait.drain_departures()
    _tell_watcher("bye\n")
    if world.watcher is not None:  # it ends at once: it must not hold the launcher's connection past us
        import subprocess

        try:
            world.watcher.wait(timeout=5)
        except subprocess.TimeoutExpired:  # a watcher that does not end must not keep this rank alive
            world.watcher.kill()
