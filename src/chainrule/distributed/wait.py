"""Waiting for a collective with a deadline, and naming the rank that did not come.

Every collective here is non-blocking (``Iallreduce``, ``Ibcast``, ``Ibarrier``) and waited for by
:func:`wait_for`, which polls it with ``Test`` instead of blocking in ``Wait``. Between polls it
reads the side communicator, where ranks talk about themselves:

- DEPART: a rank is exiting (its exit hook sent it). A collective that does not complete within a
  short grace after that can never complete: the job is aborted, naming the rank that left.
- INQUIRY / HERE: a rank whose deadline has passed asks every other rank where it is; each rank
  that is itself waiting in a collective answers with what it waits in. The ranks that do not
  answer within the grace are the ones that did not arrive, and the abort message names them.

The deadline is ``init(timeout=...)``, else ``$CHAINRULE_DIST_TIMEOUT``, else 300 seconds.
"""

import os
import time

from chainrule.distributed.world import abort, world

INQUIRY, HERE, DEPART = 11, 12, 13
GRACE = 3.0  # seconds to wait for answers, or for a collective to finish after a rank left
SPIN = 0.05  # seconds of polling back to back (each Test moves the transfer on) before polling slower

_state = {"sequence": 0, "departed": set(), "pending": []}


def wait_for(request, what):
    """Poll ``request`` until it completes; abort the job past the deadline or when a rank has left."""
    _state["sequence"] += 1
    label = f"{what} (collective #{_state['sequence']})"
    start = time.monotonic()
    deadline = start + world.timeout
    left_noticed = None
    polls = 0
    spin_until = start + SPIN
    slow = False
    while not request.Test():
        polls += 1
        if slow:  # a long wait (a slow rank, rank 0 writing a file): poll every millisecond
            time.sleep(0.001)
        else:
            _yield()  # ranks may share cores (oversubscribed): let the one we wait for run
            if polls % 64:  # while spinning, the clock and the side channel every 64th poll
                continue
        _answer_inquiries(label)
        if _read_departures() and left_noticed is None and not world.exiting:
            left_noticed = time.monotonic()
        now = time.monotonic()
        if left_noticed is not None and now - left_noticed > GRACE:
            gone = ", ".join(str(r) for r in sorted(_state["departed"]))
            abort(f"rank(s) {gone} exited while this rank waits in {label}; aborting the job")
        if now > deadline:
            _abort_for_stall(label, now - start)
        slow = now > spin_until


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _answer_inquiries(label):
    side = world.side
    while side.iprobe(tag=INQUIRY):
        status = _status()
        side.recv(tag=INQUIRY, status=status)
        _state["pending"].append(side.isend(label, dest=status.Get_source(), tag=HERE))


def _read_departures():
    side = world.side
    while side.iprobe(tag=DEPART):
        status = _status()
        side.recv(tag=DEPART, status=status)
        _state["departed"].add(status.Get_source())
    return bool(_state["departed"])


def _abort_for_stall(label, waited):
    """Ask every other rank where it is; abort naming those that give no answer."""
    side, me = world.side, world.comm.Get_rank()
    others = [r for r in range(world.comm.Get_size()) if r != me]
    requests = [side.isend(label, dest=r, tag=INQUIRY) for r in others]
    answers = {}
    end = time.monotonic() + GRACE
    while time.monotonic() < end and len(answers) < len(others):
        _answer_inquiries(label)
        _read_departures()
        if side.iprobe(tag=HERE):
            status = _status()
            answers[status.Get_source()] = side.recv(tag=HERE, status=status)
        else:
            time.sleep(0.01)
    missing = [r for r in others if r not in answers]
    where = "; ".join(f"rank {r} waits in {text}" for r, text in sorted(answers.items()))
    gone = sorted(_state["departed"])
    detail = (f"rank(s) {', '.join(map(str, missing))} did not arrive" if missing
              else "every rank answered, but in different collectives")
    if gone:
        detail += f" (rank(s) {', '.join(map(str, gone))} exited)"
    _state["pending"].extend(requests)
    abort(f"{label} did not complete within {waited:.0f} s: {detail}"
          + (f"; {where}" if where else "") + f"; the deadline ({world.timeout:g} s) is set by "
          "$CHAINRULE_DIST_TIMEOUT or init(timeout=...); aborting the job")


def announce_departure():
    """Tell every other rank that this one is exiting (at exit, before the last barrier)."""
    side, me = world.side, world.comm.Get_rank()
    _state["pending"].extend(side.isend(me, dest=r, tag=DEPART)
                             for r in range(world.comm.Get_size()) if r != me)


def drain_departures():
    """Receive the departure notes still unread (every rank sent one before the last barrier)."""
    side, me = world.side, world.comm.Get_rank()
    _read_departures()
    for r in range(world.comm.Get_size()):
        if r != me and r not in _state["departed"]:
            side.recv(source=r, tag=DEPART)
    for request in _state["pending"]:
        request.wait()
    _state["pending"].clear()


def _status():
    from mpi4py import MPI

    return MPI.Status()
