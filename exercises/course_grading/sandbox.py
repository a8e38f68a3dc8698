"""The sandbox in which autograding runs student code: a kernel manager for bubblewrap.

``SandboxedKernelManager`` starts every kernel inside bubblewrap (``bwrap``, Debian/Ubuntu
package ``bubblewrap``) with

- a file system that shows only what the kernel needs, read-only: the system folders (``/usr``,
  ``/etc``, ...), the kernel's Python installation and the folders on its ``sys.path``, and the
  extra folders the course lists (its ``data/``). The course folder (``source/``, ``release/``,
  ``submitted/``, ``autograded/``, the gradebook and its backups), the instructor's home and
  every other folder are not there at all;
- private, size-limited scratch folders, the only writable places: the submission's own
  working folder (a copy of its extra files, the notebook itself excluded), ``/tmp`` and
  ``/dev/shm``; everything else, the sandbox's own root included, is read-only;
- new PID, network, IPC and UTS namespaces: no network (only a loopback of its own), no view of
  other processes, and every process the kernel starts is killed when the kernel ends;
- an environment cleared to a short list of variables (no tokens, no ``SSH_AUTH_SOCK``);
- resource limits set by ``_launcher.py`` (address space, CPU time, processes and threads,
  file size, open files); as root, the kernel runs as an unprivileged user.

The kernel talks to the grader over ZeroMQ's IPC transport: it binds its Unix sockets in a 1 MB
folder of the sandbox's own, and the grader reaches them from outside through
``/proc/<pid>/root`` of the sandbox's first process, so no folder of the host is writable from
inside. Its connection file is shown read-only. Interrupts (the cell timeout) are sent as
messages, because a signal to bubblewrap would end the whole sandbox.

If the sandbox cannot start, the manager refuses with ``SandboxUnavailable`` (fail closed).
Setting the environment variable ``LR2DNN_GRADING_NO_SANDBOX=1`` turns the sandbox off for a
trusted local run; every kernel started so says so in the log.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

OPT_OUT_VARIABLE = "LR2DNN_GRADING_NO_SANDBOX"
LAUNCHER = Path(__file__).resolve().with_name("_launcher.py")
# Where the launcher and a submission's extra files appear inside the sandbox.
SANDBOX_LAUNCHER = "/run/course-grading/launcher.py"
SANDBOX_STAGED = "/run/course-grading/submission"
SANDBOX_CONNECTION = "/run/course-grading/kernel.json"
# The kernel's Unix sockets: in a small tmpfs of the sandbox's own; the grader reaches them
# through /proc/<pid>/root of a process in the sandbox, so no folder of the host is writable.
SANDBOX_SOCKETS = "/run/course-grading/sockets"
SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Environment variables the kernel keeps (if set); every other one is dropped.
KEPT_VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ",
                  "PYTHONPATH", "PYTHONHASHSEED", "PYTHONWARNINGS", "PYTHONIOENCODING",
                  "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "NBGRADER_EXECUTION")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
HOW_TO_OPT_OUT = (
    f"For a trusted local run only (your own test submissions, never students' work), set "
    f"{OPT_OUT_VARIABLE}=1 to grade without the sandbox; see exercises/README.md, section "
    f"'Security model'."
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here; autograding refuses to run student code without it."""


def sandbox_disabled(environment: dict[str, str] | None = None) -> bool:
    """True if the instructor turned the sandbox off with ``LR2DNN_GRADING_NO_SANDBOX=1``.

    Any other value (``0``, ``yes``, empty) keeps the sandbox on.
    """
    environment = os.environ if environment is None else environment
    return environment.get(OPT_OUT_VARIABLE) == "1"


def refusal(reason: str, fix: str) -> SandboxUnavailable:
    """The error autograding stops with when the sandbox cannot start."""
    return SandboxUnavailable(
        f"Refusing to autograde: the sandbox for student code cannot start. {reason} "
        f"Without it, student code would run with your rights and could read the solutions, "
        f"change other students' work and delete the gradebook. What to do: {fix} "
        f"{HOW_TO_OPT_OUT}"
    )


def find_bubblewrap(name: str) -> str:
    """The path of the ``bwrap`` program, or ``SandboxUnavailable`` saying how to install it."""
    if not sys.platform.startswith("linux"):
        raise refusal(f"The sandbox needs Linux (this is {sys.platform}).",
                      "grade on Linux, for example in a Linux virtual machine or container.")
    path = shutil.which(name)
    if path is None:
        raise refusal(f"The program {name!r} (bubblewrap) was not found.",
                      "install it, on Debian or Ubuntu with `sudo apt-get install bubblewrap`.")
    return path


def python_paths(python: str, environment: dict[str, str]) -> list[str]:
    """The folders a Python interpreter reads: its prefixes and the entries of ``sys.path``.

    Runs ``python`` once (outside the sandbox) with the kernel's environment.
    """
    code = ("import json, os, sys, sysconfig\n"
            "paths = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,\n"
            "         os.path.dirname(os.path.realpath(sys.executable))]\n"
            "paths += [p for p in sys.path if p]\n"
            "paths += [p for p in sysconfig.get_paths().values()]\n"
            "print(json.dumps([os.path.abspath(p) for p in paths if os.path.exists(p)]))\n")
    result = subprocess.run([python, "-c", code], capture_output=True, text=True,
                            env=environment, cwd="/", timeout=60)
    if result.returncode != 0:
        raise refusal(f"The kernel's Python {python!r} did not run: {result.stderr.strip()[-500:]}",
                      "check the kernel spec (`jupyter kernelspec list`).")
    return json.loads(result.stdout)


def covering_folders(paths: list[str]) -> list[str]:
    """The paths, resolved, without those inside another one, sorted (parents first)."""
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths} | {os.path.abspath(p) for p in paths}):
        if not any(path == parent or path.startswith(parent.rstrip("/") + "/") for parent in chosen):
            chosen.append(path)
    return chosen


def is_inside(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


class MountPlan:
    """bubblewrap's mount options in order, with the parent folders each mount needs.

    bubblewrap creates missing parent folders of a mount point itself, but with mode 0700,
    which an unprivileged user in the sandbox cannot enter; this plan creates them first with
    mode 0755 (on the sandbox's own root or inside one of its tmpfs folders).
    """

    def __init__(self) -> None:
        self.arguments: list[str] = []
        self.mounts: list[tuple[str, str]] = [("/", "tmpfs")]   # (path, "tmpfs" or "bind")
        self.created: set[str] = set()

    def _innermost(self, path: str) -> tuple[str, str]:
        return max((m for m in self.mounts if is_inside(path, m[0])), key=lambda m: len(m[0]))

    def _parents(self, destination: str) -> None:
        parents = [str(p) for p in reversed(Path(destination).parents) if str(p) != "/"]
        for parent in parents:
            mount, kind = self._innermost(parent)
            if parent in self.created or kind == "bind" or parent == mount:
                continue
            self.arguments += ["--perms", "0755", "--dir", parent]
            self.created.add(parent)

    def bind(self, source: str, destination: str, option: str = "--ro-bind") -> None:
        self._parents(destination)
        self.arguments += [option, source, destination]
        self.mounts.append((destination, "bind"))

    def tmpfs(self, destination: str, perms: str, size: int | None = None) -> None:
        self._parents(destination)
        self.arguments += ["--perms", perms] + (["--size", str(size)] if size else []) + ["--tmpfs", destination]
        self.mounts = [m for m in self.mounts if not is_inside(m[0], destination) or m[0] == "/"]
        self.mounts.append((destination, "tmpfs"))
        self.created = {c for c in self.created if not is_inside(c, destination)}


def bubblewrap_arguments(*, bwrap: str, read_only: list[str], hidden: list[str], cwd: str,
                         connection_file: str | None, staged: str | None, environment: dict[str, str],
                         scratch_bytes: int, as_root: bool) -> list[str]:
    """The ``bwrap`` command line, up to and including ``--``, for one kernel.

    Parameters
    ----------
    bwrap : path of the bubblewrap program.
    read_only : host folders shown read-only at the same place (besides the system folders).
    hidden : host folders covered by an empty folder (the course folder), even if inside
        ``read_only``.
    cwd : the kernel's working folder: an empty, private, size-limited folder at this path.
    connection_file : the kernel's connection file on the host, shown read-only at
        ``SANDBOX_CONNECTION`` (or ``None``). The kernel's sockets go to ``SANDBOX_SOCKETS``.
    staged : a folder with the submission's extra files, shown read-only where the launcher
        copies them from, or ``None``.
    environment : the kernel's whole environment.
    scratch_bytes : size limit of each private scratch folder (``cwd``, ``/tmp``, ``/dev/shm``).
    as_root : bubblewrap runs as root (no user namespace of its own; the launcher drops root).
    """
    arguments = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                 "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grader"]
    if not as_root:
        # bubblewrap needs a user namespace anyway; forbid the sandbox to make more.
        arguments += ["--unshare-user", "--disable-userns"]
    arguments += ["--clearenv"]
    for name, value in sorted(environment.items()):
        arguments += ["--setenv", name, value]
    plan = MountPlan()
    system = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            plan.arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            plan.bind(folder, folder)
            system.append(folder)
    if os.path.isdir("/sys"):
        plan.bind("/sys", "/sys")
    plan.arguments += ["--proc", "/proc", "--dev", "/dev"]
    plan.mounts += [("/proc", "bind"), ("/dev", "bind")]
    plan.tmpfs("/tmp", "1777", scratch_bytes)
    plan.tmpfs("/dev/shm", "1777", scratch_bytes)
    # Folders inside a hidden one (a virtual environment inside the course folder) are mounted
    # after the hidden one is covered; a read-only folder equal to a hidden one never is.
    read_only = [f for f in read_only if os.path.abspath(f) not in hidden and not any(is_inside(f, s) for s in system)]
    inside = covering_folders([f for f in read_only if any(is_inside(f, h) for h in hidden)])
    for folder in covering_folders([f for f in read_only if not any(is_inside(f, h) for h in hidden)]):
        plan.bind(folder, folder)
    for folder in hidden:
        plan.tmpfs(folder, "0755", 2**20)
    for folder in inside:
        plan.bind(folder, folder)
    plan.tmpfs(SANDBOX_SOCKETS, "1777", 2**20)
    if connection_file:
        plan.bind(connection_file, SANDBOX_CONNECTION)
    plan.bind(str(LAUNCHER), SANDBOX_LAUNCHER)
    if staged:
        plan.bind(staged, SANDBOX_STAGED)
    plan.tmpfs(cwd, "1777", scratch_bytes)
    # Everything else read-only: the sandbox's root and /dev, and the covers of hidden folders,
    # which bubblewrap made writable for the sandbox's user (the mounts inside keep theirs).
    for folder in [*hidden, "/dev", "/"]:
        plan.arguments += ["--remount-ro", folder]
    return arguments + plan.arguments + ["--chdir", cwd, "--"]


def child_processes(pid: int) -> list[int]:
    """The PIDs of the children of process ``pid`` (from /proc)."""
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    if listing.exists():
        return [int(part) for part in listing.read_text().split()]
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return sorted(children)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts each kernel inside bubblewrap (see the module docstring).

    Configure it in ``nbgrader_config.py`` as ``c.SandboxedKernelManager.<trait>``.
    """

    bwrap = Unicode("bwrap", help="The bubblewrap program (a name on PATH or a path).").tag(config=True)
    memory_limit = Integer(4 * 2**30, help="Address space of each process in the sandbox, bytes.").tag(config=True)
    cpu_time_limit = Integer(600, help="CPU seconds of each process in the sandbox.").tag(config=True)
    process_limit = Integer(64, help="Processes and threads in the sandbox, together.").tag(config=True)
    file_size_limit = Integer(64 * 2**20, help="Largest file a process in the sandbox may write, bytes.").tag(config=True)
    open_files_limit = Integer(1024, help="Open files of each process in the sandbox.").tag(config=True)
    scratch_size = Integer(256 * 2**20, help="Size of each private scratch folder, bytes.").tag(config=True)
    threads = Integer(2, help="Threads of the numerical libraries (OMP_NUM_THREADS, ...).").tag(config=True)
    read_only_paths = List(Unicode(), help="Extra host folders the kernel may read (the course's data).").tag(config=True)
    hidden_paths = List(Unicode(), help="Host folders the kernel never sees (the course folder).").tag(config=True)
    unprivileged_uid = Integer(65534, help="User that runs student code when grading as root.").tag(config=True)
    unprivileged_gid = Integer(65534, help="Group that runs student code when grading as root.").tag(config=True)

    # Checked sandboxes, one per (bwrap, kernel Python, user): the check costs about a second.
    _checked: dict[tuple[str, str, int], list[str]] = {}
    _runtime: str | None = None
    _stderr_tail = bytearray()

    # ------------------------------------------------------------------ configuration

    def limits(self) -> dict[str, int]:
        """The resource limits, by ``RLIMIT_`` name, that the launcher sets."""
        return {"AS": self.memory_limit, "CPU": self.cpu_time_limit, "NPROC": self.process_limit,
                "FSIZE": self.file_size_limit, "NOFILE": self.open_files_limit, "CORE": 0}

    def kernel_environment(self, python: str) -> dict[str, str]:
        """The kernel's environment: a few kept variables, a private home, fixed thread counts."""
        environment = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        spec_environment = (self.kernel_spec.env if self.kernel_spec else {}) or {}
        environment.update(spec_environment)
        environment.update({
            "PATH": os.pathsep.join([os.path.dirname(python), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": "/tmp", "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
            **{name: str(self.threads) for name in THREAD_VARIABLES},
        })
        environment.setdefault("LANG", "C.UTF-8")
        return environment

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    # -------------------------------------------------------------------- the check

    def check_sandbox(self, python: str) -> list[str]:
        """Start a throw-away sandbox once and import ipykernel in it; return the read-only paths.

        Raises ``SandboxUnavailable`` with the reason and what to do.
        """
        bwrap = find_bubblewrap(self.bwrap)
        key = (bwrap, python, os.geteuid())
        if key in self._checked:
            return self._checked[key]
        environment = self.kernel_environment(python)
        read_only = python_paths(python, {**environment, "PATH": os.environ.get("PATH", "")})
        read_only += [p for p in self.read_only_paths if os.path.exists(p)]
        with tempfile.TemporaryDirectory(prefix="lr2dnn-check-") as runtime:
            self._share(runtime)
            cwd = os.path.join(runtime, "work")
            arguments = bubblewrap_arguments(
                bwrap=bwrap, read_only=read_only, hidden=self._hidden(read_only), cwd=cwd,
                connection_file=None, staged=None, environment=environment,
                scratch_bytes=self.scratch_size, as_root=self._as_root())
            probe = "import ipykernel, socket; print('sandbox ok')"
            command = arguments + self._launcher_command(python, None) + [python, "-c", probe]
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0 or "sandbox ok" not in result.stdout:
            message = (result.stderr or result.stdout).strip()[-800:]
            hint = ("if bubblewrap says it cannot create a namespace, allow unprivileged user "
                    "namespaces (`sudo sysctl -w kernel.unprivileged_userns_clone=1`; on Ubuntu "
                    "24.04 also `kernel.apparmor_restrict_unprivileged_userns=0`), or grade "
                    "outside a container that forbids them.")
            if self._as_root():
                hint += (f" You grade as root, so student code runs as uid {self.unprivileged_uid}: "
                         "every folder of the kernel's Python and of the course's data must be "
                         "readable by that user, or grade as a normal user.")
            raise refusal(f"A test sandbox failed (exit code {result.returncode}): {message}", hint)
        self._checked[key] = read_only
        return read_only

    def _hidden(self, read_only: list[str]) -> list[str]:
        """The hidden folders that would otherwise be visible through a read-only folder."""
        return [h for h in self.hidden_paths
                if any(is_inside(h, r) for r in read_only) or any(is_inside(h, s) for s in SYSTEM_FOLDERS)]

    def _launcher_command(self, python: str, staged: str | None) -> list[str]:
        settings = {"limits": self.limits(), "uid": self.unprivileged_uid,
                    "gid": self.unprivileged_gid, "staged": SANDBOX_STAGED if staged else None}
        return [python, SANDBOX_LAUNCHER, json.dumps(settings), "--"]

    def _share(self, path: str) -> None:
        """Give the unprivileged user of the sandbox a private folder (grading as root)."""
        if self._as_root():
            os.chown(path, self.unprivileged_uid, self.unprivileged_gid)
        os.chmod(path, 0o700)

    # ------------------------------------------------------------ the kernel's life

    async def _async_pre_start_kernel(self, **kw):
        if sandbox_disabled():
            self.log.warning("%s=1: this kernel runs WITHOUT the sandbox, with your rights.",
                             OPT_OUT_VARIABLE)
            return await super()._async_pre_start_kernel(**kw)
        python = self.kernel_spec.argv[0]
        if python in {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}:
            python = sys.executable
        # Without '..' (`exercises/../.venv/bin/python`): the folders in between are not in the
        # sandbox. Symbolic links stay, so that a virtual environment still finds itself.
        python = os.path.abspath(python)
        self._read_only = self.check_sandbox(python)
        self._python = python
        # Interrupt by message: a SIGINT to bubblewrap would end the sandbox, not the cell.
        self.kernel_spec.interrupt_mode = "message"
        self._runtime = tempfile.mkdtemp(prefix="lr2dnn-kernel-")
        self._share(self._runtime)
        self.transport = "ipc"
        self.connection_file = os.path.join(self._runtime, "kernel.json")
        self.ip = f"{SANDBOX_SOCKETS}/kernel"   # where the kernel binds (inside the sandbox)
        self._cwd = os.path.abspath(kw.get("cwd") or os.getcwd())
        self._staged = self._stage_extra_files(self._cwd)
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = subprocess.PIPE    # drained by a thread, which keeps only its end
        kw["env"] = {}
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self._as_root():  # the connection file (with the message key) for the sandbox's user
            os.chown(self.connection_file, self.unprivileged_uid, self.unprivileged_gid)
        return kernel_cmd, kw

    def _stage_extra_files(self, cwd: str) -> str | None:
        """Copy the submission's files other than notebooks where the launcher finds them."""
        extra = [p for p in Path(cwd).rglob("*") if p.is_file() and p.suffix != ".ipynb"] if os.path.isdir(cwd) else []
        if not extra:
            return None
        staged = os.path.join(self._runtime, "submission")
        for path in extra:
            target = Path(staged) / path.relative_to(cwd)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        if self._as_root():
            for folder, _, files in os.walk(staged):
                for name in [folder, *(os.path.join(folder, f) for f in files)]:
                    os.chown(name, self.unprivileged_uid, self.unprivileged_gid)
        return staged

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if sandbox_disabled() or self._runtime is None:
            return command
        if command[0] in {"python", "python3"} or os.path.abspath(command[0]) == self._python:
            command[0] = self._python
        arguments = bubblewrap_arguments(
            bwrap=find_bubblewrap(self.bwrap), read_only=self._read_only,
            hidden=self._hidden(self._read_only), cwd=self._cwd,
            connection_file=os.path.realpath(self.connection_file),
            staged=self._staged, environment=self.kernel_environment(self._python),
            scratch_bytes=self.scratch_size, as_root=self._as_root())
        connection = os.path.realpath(self.connection_file)
        command = [SANDBOX_CONNECTION if part == connection else part for part in command]
        return arguments + self._launcher_command(self._python, self._staged) + command

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if sandbox_disabled() or self._runtime is None:
            return
        self._stderr_tail = bytearray()
        threading.Thread(target=self._drain_stderr, args=(self.provisioner.process.stderr,),
                         daemon=True).start()
        child = await self._sandbox_process()
        # From now on the grader's side connects to the sockets through the sandbox's root.
        self.ip = f"/proc/{child}/root{SANDBOX_SOCKETS}/kernel"

    async def _sandbox_process(self, timeout: float = 30) -> int:
        """The PID of bubblewrap's child, the first process inside the sandbox."""
        outer = self.provisioner.pid
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            children = child_processes(outer)
            if children:
                return children[0]
            if self.provisioner.process.poll() is not None:
                raise RuntimeError(f"the sandbox ended at once: {self.kernel_stderr()}")
            await asyncio.sleep(0.005)
        raise RuntimeError(f"the sandbox did not start within {timeout} s")

    def _drain_stderr(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self._stderr_tail = (self._stderr_tail + chunk)[-8192:]
        stream.close()

    def kernel_stderr(self) -> str:
        """The end (8 KB) of what the kernel and bubblewrap wrote to stderr, for error messages."""
        return bytes(self._stderr_tail).decode(errors="replace")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._runtime and not restart:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None
