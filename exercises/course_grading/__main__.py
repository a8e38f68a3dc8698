"""The instructor's commands; run them from the course folder (``exercises/``).

::

    python -m course_grading check                     # can the sandbox start here?
    python -m course_grading report                    # the tamper report, as a table
    python -m course_grading backups                   # the gradebook's backups
    python -m course_grading restore <backup.db>       # put a backup back
    python -m course_grading autograde <set> --jobs 2  # grade with two processes at once
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import backup, parallel
from .preprocessors import REPORT_NAME, read_report
from .sandbox import SandboxedKernelManager, SandboxUnavailable, sandbox_disabled


def check(course: Path) -> int:
    if sandbox_disabled():
        print("LR2DNN_GRADING_NO_SANDBOX=1 is set: autograding would run WITHOUT the sandbox.")
    manager = SandboxedKernelManager(kernel_name="python3")
    manager.hidden_paths = [str(course)]
    try:
        paths = manager.check_sandbox(manager.kernel_spec.argv[0] if manager.kernel_spec.argv[0]
                                      not in {"python", "python3"} else sys.executable)
    except SandboxUnavailable as error:
        print(error)
        return 1
    print("The sandbox starts. Read-only folders besides the system's:")
    for path in paths:
        print(f"  {path}")
    return 0


def report(course: Path) -> int:
    rows = read_report(course / REPORT_NAME)
    if not rows:
        print(f"No findings ({REPORT_NAME} is empty or missing).")
        return 0
    for row in rows:
        print(f"{row['assignment']}  {row['student']}  {row['cell']} line {row['line']}  "
              f"[{row['rule']}] {row['finding']}\n    {row['code']}\n    {row['status']}; "
              f"tests without points: {row['tests_without_points'] or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="start a test sandbox and say whether it works")
    commands.add_parser("report", help="print the tamper report")
    commands.add_parser("backups", help="list the gradebook's backups, oldest first")
    restore = commands.add_parser("restore", help="replace the gradebook by a backup")
    restore.add_argument("backup", type=Path)
    grade = commands.add_parser("autograde", help="autograde one set with several processes")
    grade.add_argument("assignment")
    grade.add_argument("--jobs", type=int, default=2)
    grade.add_argument("--students", default="", help="comma-separated students (default: all)")
    arguments, extra = parser.parse_known_args(argv)
    course = Path.cwd()
    gradebook = course / "gradebook.db"
    if arguments.command == "check":
        return check(course)
    if arguments.command == "report":
        return report(course)
    if arguments.command == "backups":
        for path in backup.list_backups(gradebook):
            print(path)
        return 0
    if arguments.command == "restore":
        saved = backup.restore(gradebook, arguments.backup)
        print(f"Restored {arguments.backup} to {gradebook}" +
              (f"; the gradebook before the restore is in {saved}" if saved else ""))
        return 0
    only = [name for name in arguments.students.split(",") if name]
    return parallel.autograde_in_parallel(course, arguments.assignment, arguments.jobs, extra, only)


if __name__ == "__main__":
    sys.exit(main())
