"""Copies of the gradebook: one before every autograde run, kept, and a way back.

``nbgrader_config.py`` registers ``BackupBeforeAutograde`` as nbgrader's ``pre_convert_hook``
for autograding: before the first submission of a run is touched, the gradebook is copied to
``gradebook-backups/gradebook-<UTC time>.db`` with SQLite's online backup (a consistent copy
even while another process writes). Copies are never deleted by the course's tools.

Restore (from the course folder, with nbgrader not running)::

    python -m course_grading backups                      # list the copies, newest last
    python -m course_grading restore gradebook-backups/gradebook-20260301T170500.123456Z.db

``restore`` first copies the current gradebook to a new backup, so a restore can be undone.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path

from traitlets.log import get_logger

BACKUP_FOLDER = "gradebook-backups"
SKIP_VARIABLE = "COURSE_GRADING_BACKED_UP"   # set by the parallel runner, which backs up once


def backup_path(folder: Path) -> Path:
    """A new file name in ``folder``: ``gradebook-<UTC time to the microsecond>Z.db``."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"gradebook-{stamp}.db"
    counter = 1
    while path.exists():
        path = folder / f"gradebook-{stamp}-{counter}.db"
        counter += 1
    return path


def sqlite_copy(source: Path, destination: Path) -> None:
    """Copy an SQLite database with the online backup API (consistent, also in WAL mode)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as origin, \
            sqlite3.connect(destination) as target:
        origin.backup(target)
    origin.close()
    target.close()


def back_up(gradebook: Path, folder: Path | None = None) -> Path | None:
    """Copy ``gradebook`` to a new timestamped file; return its path (``None`` if no gradebook)."""
    gradebook = Path(gradebook)
    if not gradebook.exists():
        return None
    folder = Path(folder) if folder else gradebook.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    destination = backup_path(folder)
    sqlite_copy(gradebook, destination)
    return destination


def list_backups(gradebook: Path) -> list[Path]:
    """The backups of ``gradebook``, oldest first."""
    folder = Path(gradebook).parent / BACKUP_FOLDER
    return sorted(folder.glob("gradebook-*.db")) if folder.exists() else []


def restore(gradebook: Path, backup: Path) -> Path | None:
    """Replace ``gradebook`` by ``backup``; the current gradebook is backed up first.

    Returns the backup made of the current gradebook (``None`` if there was none).
    """
    backup = Path(backup)
    if not backup.is_file():
        raise FileNotFoundError(f"backup must be an existing file, got {str(backup)!r}")
    try:
        with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as check:
            status = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.close()
    except sqlite3.DatabaseError as error:
        status = str(error)
    if status != "ok":
        raise ValueError(f"backup {str(backup)!r} is damaged (integrity check: {status})")
    saved = back_up(gradebook)
    sqlite_copy(backup, Path(gradebook))
    return saved


class BackupBeforeAutograde:
    """nbgrader ``pre_convert_hook``: back up the gradebook once per process, before grading.

    nbgrader only logs an exception of a hook and goes on, so a failed backup is recorded in
    ``failures``: ``SandboxedExecute`` then refuses to run any submission of this process.

    Parameters
    ----------
    gradebook : path of ``gradebook.db``.
    """

    failures: list[str] = []

    def __init__(self, gradebook: str | os.PathLike):
        self.gradebook = Path(gradebook)
        self.done: Path | None = None

    def __call__(self, **_ignored) -> None:
        if self.done is not None or os.environ.get(SKIP_VARIABLE):
            return
        log = get_logger()
        try:
            copy = back_up(self.gradebook)
        except Exception as error:   # disk full, no permission, damaged file
            message = f"could not back up {self.gradebook}: {error}"
            BackupBeforeAutograde.failures.append(message)
            log.error("Refusing to autograde: %s", message)
            raise
        self.done = copy or self.gradebook
        if copy:
            log.info("Gradebook backed up to %s (to undo this run: python -m course_grading "
                     "restore %s)", copy, copy)
