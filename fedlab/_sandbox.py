"""Contain untrusted code (a notebook): its own folder, read-only elsewhere, no process left.

Three layers, each from the Linux kernel, none needing root except the first:

- an unprivileged account (``nobody``) when the grader runs as root, since root ignores
  file permissions (:func:`sandbox_user`);
- Landlock (Linux >= 5.13, :func:`landlock_abi`): the process and everything it starts
  may read only the listed folders (Python, its packages, fedlab) and write only its own
  folder; it cannot ptrace (so cannot read another process's memory or environment) or,
  from Landlock ABI 6, signal any process outside the sandbox;
- a child subreaper (``PR_SET_CHILD_SUBREAPER``, :class:`Reaper`): every process the code
  starts, even one that double-forks into a new session, stays a descendant of the
  grader, which ends them all when the notebook is done.

``python -m fedlab._sandbox --user UID:GID --read DIR --write DIR -- COMMAND ...`` applies
the first two to ``COMMAND`` and runs it (the kernel is started so).

References
----------
Landlock: unprivileged access control, https://docs.kernel.org/userspace-api/landlock.html
prctl(2), ``PR_SET_CHILD_SUBREAPER``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import struct
import sys
import time

__all__ = ["landlock_abi", "confine", "sandbox_user", "Reaper", "descendants"]

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same number on every arch
_RULE_PATH_BENEATH, _VERSION = 1, 1
_PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 38, 36, 37
_PR_SET_KEEPCAPS, _CAPABILITY_V3, _CAP_DAC_READ_SEARCH = 8, 0x20080522, 2
# LANDLOCK_ACCESS_FS_*: execute, write, read file, read dir, remove dir/file, make char,
# dir, reg, sock, fifo, block, sym (ABI 1), refer (2), truncate (3), ioctl_dev (5)
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_SCOPE_ALL = 1 | 2  # ABI 6: abstract unix sockets, signals


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi():
    """The Landlock ABI version this kernel offers (0 when it has none)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0),
                              ctypes.c_uint32(_VERSION))
    return max(0, int(version))


def _handled_fs(abi):
    return _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= abi)]


def confine(*, readable=(), writable=(), abi=None):
    """Restrict this process (and all it starts) to read ``readable``, write ``writable``.

    Paths that do not exist are skipped. Irreversible; a process calls it on itself,
    just before ``exec``-ing the code to contain.

    Raises
    ------
    OSError
        If the kernel refuses (no Landlock: check :func:`landlock_abi` first).
    """
    abi = landlock_abi() if abi is None else abi
    libc = _libc()
    handled = _handled_fs(abi)
    attr = struct.pack("QQQ", handled, 0, _SCOPE_ALL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = libc.syscall(_CREATE_RULESET, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise _os_error("landlock_create_ruleset")
    read = _EXECUTE | _READ_FILE | _READ_DIR
    try:
        for paths, access in ((readable, read), (writable, handled)):
            for path in paths:
                _add_rule(libc, ruleset, path, access & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _os_error("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise _os_error("landlock_restrict_self")
    finally:
        os.close(ruleset)


def _add_rule(libc, ruleset, path, access):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to allow
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, ctypes.c_uint32(0)) != 0:
            raise _os_error(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _os_error(what):
    number = ctypes.get_errno()
    return OSError(number, f"{what}: {os.strerror(number)}")


def sandbox_user(name="nobody"):
    """``(uid, gid)`` of the account to run untrusted code as, or None when not root.

    Raises
    ------
    ValueError
        When running as root and the account does not exist.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    from fedlab._validation import InvalidParameterError

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise InvalidParameterError(f"--user {name}: no such account on this machine; "
                                    "give an unprivileged one (e.g. nobody)") from None
    if entry.pw_uid == 0:
        raise InvalidParameterError(f"--user {name}: is root; give an unprivileged account")
    return entry.pw_uid, entry.pw_gid


def descendants(pid=None):
    """``{pid: start time}`` of every living descendant of ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    children, start = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        child = int(entry)
        children.setdefault(int(fields[1]), []).append(child)  # field 4: ppid
        start[child] = int(fields[19])  # field 22: start time
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found[child] = start[child]
                todo.append(child)
    return found


class Reaper:
    """Within the block this process adopts its orphaned descendants; at its end, kill new ones.

    Every process started inside the block (and all it starts, even a daemon that
    double-forks into a new session) is killed with SIGKILL and reaped when the block
    ends; processes that were there before are left alone.

    Attributes
    ----------
    killed : int
        How many processes were left running and had to be killed.
    """

    def __init__(self, *, seconds=10.0):
        self.seconds, self.killed = seconds, 0

    def __enter__(self):
        libc = _libc()
        was = ctypes.c_int(0)
        libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0)
        self._was = was.value
        self._set = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        self._before = set(descendants().items())
        return self

    def __exit__(self, *exc):
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            new = [p for p in descendants().items() if p not in self._before]
            if not new:
                break
            for pid, _ in new:
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed += 1
                except ProcessLookupError:
                    pass
            self._reap({pid for pid, _ in new})
        self._reap(None)
        if self._set and not self._was:
            _libc().prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        return False

    def _reap(self, pids):
        """Collect our dead children among ``pids`` (None: those not there before)."""
        before = {pid for pid, _ in self._before}
        for pid in list(descendants()) if pids is None else pids:
            if pid in before:
                continue
            for _ in range(200):  # a SIGKILLed process dies within milliseconds
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break  # not our child (its parent reaps it) or already reaped
                if done:
                    break
                time.sleep(0.005)


def _main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fedlab._sandbox")
    parser.add_argument("--user", metavar="UID:GID")
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--write", action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    abi = landlock_abi()
    if abi:
        confine(readable=args.read, writable=args.write, abi=abi)
    if args.user:
        _become(*map(int, args.user.split(":")))
    os.execv(command[0], command)


def _become(uid, gid):
    """Become ``uid:gid`` (no supplementary groups) for good, keeping one capability until exec.

    ``CAP_DAC_READ_SEARCH`` is kept only so that ``exec`` can find an interpreter whose
    path crosses a private folder (pyenv's under ``/root``); ``exec`` of a program without
    file capabilities clears it, so the program runs with none.
    """
    libc = _libc()
    libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    header = ctypes.create_string_buffer(struct.pack("Ii", _CAPABILITY_V3, 0), 8)
    keep = 1 << _CAP_DAC_READ_SEARCH
    data = ctypes.create_string_buffer(struct.pack("6I", keep, keep, 0, 0, 0, 0), 24)
    if libc.capset(header, data) != 0:  # then exec works only if the path is open to uid
        libc.prctl(_PR_SET_KEEPCAPS, 0, 0, 0, 0)


if __name__ == "__main__":
    _main()
