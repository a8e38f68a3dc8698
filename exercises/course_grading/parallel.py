"""Autograde one set with several ``nbgrader autograde`` processes at once.

Each worker is a plain ``nbgrader autograde <set>`` with the course's configuration (so with
the sandbox, the tamper check and the output limits); the students are split between the
workers with nbgrader's own ``--CourseDirectory.student_id_exclude``. What keeps the SQLite
gradebook safe when two processes write to it:

- it is switched to write-ahead logging (``PRAGMA journal_mode=WAL``, kept in the file): readers
  never block the writer, and a writer never fails on a lock held by a reader;
- every worker opens it with a long busy timeout (``?timeout=300``): a writer waits for the other
  writer's transaction (nbgrader's are a few milliseconds long) instead of failing;
- the workers grade different students, so they never write the same rows, and each
  submission's autograded folder belongs to one worker;
- the gradebook is backed up once, before the workers start.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from .backup import SKIP_VARIABLE, back_up


def submitted_students(course: Path, assignment: str) -> list[str]:
    """Students with a folder ``submitted/<student>/<assignment>/``, sorted."""
    return sorted(path.parent.name for path in (course / "submitted").glob(f"*/{assignment}")
                  if path.is_dir())


def split(students: list[str], jobs: int) -> list[list[str]]:
    """Deal the students round-robin into ``jobs`` groups (empty groups dropped)."""
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs}")
    return [group for group in (students[k::jobs] for k in range(jobs)) if group]


def use_write_ahead_log(gradebook: Path) -> str:
    """Switch the gradebook to WAL journaling (persistent); return the journal mode."""
    with sqlite3.connect(gradebook) as connection:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    connection.close()
    return mode


def _relay(stream, prefix: str) -> None:
    for line in stream:
        sys.stderr.write(f"{prefix}{line}")
    stream.close()


def autograde_in_parallel(course: Path, assignment: str, jobs: int, extra: list[str],
                          only: list[str] | None = None) -> int:
    """Grade the submissions of ``assignment`` with ``jobs`` workers; return the exit code.

    Parameters
    ----------
    course : the course folder.
    assignment : the set's name.
    jobs : number of ``nbgrader autograde`` processes.
    extra : further arguments for each of them (``--force``, ...).
    only : grade only these students (default: every student who submitted the set).
    """
    course = Path(course).resolve()
    gradebook = course / "gradebook.db"
    if not gradebook.exists():
        raise FileNotFoundError(f"no gradebook at {gradebook}: run nbgrader generate_assignment first")
    copy = back_up(gradebook)
    print(f"Gradebook backed up to {copy}", file=sys.stderr)
    mode = use_write_ahead_log(gradebook)
    if mode.lower() != "wal":
        raise RuntimeError(f"the gradebook refused write-ahead logging (journal mode {mode})")
    everyone = submitted_students(course, assignment)
    students = everyone
    if only:
        unknown = sorted(set(only) - set(everyone))
        if unknown:
            raise ValueError(f"only must name students who submitted {assignment}, got {unknown}")
        students = [s for s in everyone if s in only]
    groups = split(students, jobs)
    threads = max(1, (os.cpu_count() or 1) // max(1, len(groups)))
    environment = {**os.environ, SKIP_VARIABLE: str(copy)}
    workers = []
    for number, group in enumerate(groups, start=1):
        others = [s for s in everyone if s not in group]   # each worker skips all but its own
        command = [sys.executable, "-m", "nbgrader", "autograde", assignment,
                   f"--CourseDirectory.db_url=sqlite:///{gradebook}?timeout=300",
                   f"--SandboxedKernelManager.threads={threads}", *extra]
        if others:
            command.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
        process = subprocess.Popen(command, cwd=course, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        relay = threading.Thread(target=_relay, args=(process.stdout, f"[worker {number}] "))
        relay.start()
        workers.append((process, relay))
    codes = []
    for process, relay in workers:
        codes.append(process.wait())
        relay.join()
    return max(codes, default=0)
