"""The watcher beside each rank: names the rank when it dies without leaving (a SIGKILL, a crash).

A killed process cannot say who it was, and the launcher names it only by a process id (mpich's
``mpiexec`` even names the first process of the job it cleans up, not the one that died). So
``chainrule.distributed.init()`` starts this small script next to each rank, as its child. The rank
writes one line, ``rank R of N (pid P on HOST)``, on the watcher's standard input, and ``bye`` when
it leaves normally (or aborts with its own message). If the rank goes away without ``bye``, the
watcher writes ``chainrule.distributed: rank R of N (pid P on HOST) died: ...`` to the rank's
standard error, which the launcher forwards to the job's output; how it died (``killed by signal 9
(SIGKILL)``) when the kernel still shows it, else the launcher's own report tells.

Under mpich's launcher the watcher holds the rank's PMI connection (``$PMI_FD``) until it has
written, so the launcher, which ends the job when that connection closes, still forwards the line.

Run with ``python -I -S watcher.py`` (standard library only, started in milliseconds).
"""

import os
import select
import signal
import sys
import time

POLL = 0.2  # seconds between looks at whether the rank is still our parent


def watch():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the job's Ctrl-C is the rank's to handle
    parent = os.getppid()
    received = b""
    while True:
        ready, _, _ = select.select([0], [], [], POLL)
        if ready:
            chunk = os.read(0, 4096)
            received += chunk
            if b"\nbye" in received:
                return  # left normally
            if not chunk:
                break  # the rank closed its end: it ended
        if os.getppid() != parent:
            break  # the rank ended (its other children may still hold the pipe)
    who = received.split(b"\n")[0].decode(errors="replace").strip() or f"the rank with pid {parent}"
    os.write(2, f"chainrule.distributed: {who} died: {_how(parent)}; the job cannot go on without it\n"
             .encode())


def _how(pid):
    """How process ``pid`` ended, read from the kernel once it is a zombie its parent has not reaped."""
    status = None
    for _ in range(50):  # its files close before it has finished dying: wait (up to 0.5 s) until it has
        try:
            with open(f"/proc/{pid}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except OSError:
            break  # reaped already
        if fields[0] in (b"Z", b"X"):
            status = int(fields[49])  # field 52, exit_code, as waitpid reports it (Linux 3.5+)
            break
        time.sleep(0.01)
    if status is None:  # the launcher reaped it first: how it ended is the launcher's to say
        return "it ended without leaving MPI (killed by a signal, crashed, or os._exit)"
    if status & 0x7F:
        number = status & 0x7F
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "?"
        return f"killed by signal {number} ({name})"
    return f"it exited with status {status >> 8} without leaving MPI (os._exit?)"


if __name__ == "__main__":
    watch()
    sys.exit(0)
