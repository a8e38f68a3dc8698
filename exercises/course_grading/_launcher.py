"""First program inside the grading sandbox: limits, then the kernel.

bubblewrap starts this file with the kernel's own Python, as
``python _launcher.py '<settings as JSON>' -- <kernel command>``. It uses nothing but the
standard library and does four things before it replaces itself with the kernel:

1. If it runs as root (the instructor grades as root, for example in CI), it becomes an
   unprivileged user and enters a user namespace of its own. Linux never applies the process
   limit to root, and the user namespace makes the limit count the sandbox's processes only.
2. It sets the resource limits (address space, CPU seconds, processes and threads, file size,
   open files, no core dumps).
3. It copies the submission's extra files (if any) into the private working folder.
4. It executes the kernel command.

The sandbox's mounts, namespaces and environment are set up by bubblewrap before this runs
(see ``sandbox.py``).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import sys

CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38


def _write(path: str, text: str) -> None:
    with open(path, "w") as stream:
        stream.write(text)


def become_unprivileged(uid: int, gid: int) -> None:
    """Drop root for ``uid``/``gid``, then enter a new user namespace that maps only them."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    libc = ctypes.CDLL(None, use_errno=True)
    # Changing the user made the process non-dumpable, which makes /proc/self root's: undo that,
    # so that the process can write its own user-namespace maps.
    for option in (PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE):
        if libc.prctl(option, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl({option}, 1) failed")
    if libc.unshare(CLONE_NEWUSER) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare(CLONE_NEWUSER) as uid {uid} failed: {os.strerror(error)}")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")


def set_limits(limits: dict[str, int]) -> None:
    """Set each ``RLIMIT_<NAME>`` (soft and hard) to its value."""
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def copy_files(source: str, destination: str) -> None:
    """Copy the files under ``source`` into ``destination`` (contents only, no permissions)."""
    for folder, _, files in os.walk(source):
        target = os.path.join(destination, os.path.relpath(folder, source))
        os.makedirs(target, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))


def main(argv: list[str]) -> None:
    settings = json.loads(argv[1])
    if argv[2] != "--" or len(argv) < 4:
        raise SystemExit("usage: _launcher.py SETTINGS -- KERNEL COMMAND")
    command = argv[3:]
    if os.getuid() == 0:
        become_unprivileged(settings["uid"], settings["gid"])
    set_limits(settings["limits"])
    staged = settings.get("staged")
    if staged and os.path.isdir(staged):
        copy_files(staged, os.getcwd())
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
