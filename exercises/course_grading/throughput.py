"""How long autograding a class takes: seconds per submission, with and without the sandbox.

Run from the course folder (``exercises/``)::

    python -m course_grading.throughput ex01-linear-regression --submissions 100

It copies the set's source notebook into a temporary course folder, generates the student
version, submits ``--submissions`` notebooks (half of them the solution, a fifth the untouched
student version, the rest the solution with one task left undone, in turn), and grades them
four ways: serially and with ``--jobs`` workers, each with the sandbox and with
``LR2DNN_GRADING_NO_SANDBOX=1`` (safe here: every submission is the course's own). It prints
one line per way: the time, the time per submission, and the machine's load before and after
(the times grow with whatever else the machine is doing; compare runs made at the same load).
Your real course folder is not touched.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from .sandbox import OPT_OUT_VARIABLE

HERE = Path(__file__).resolve().parent


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def class_of(source, release, count: int) -> list[tuple[str, nbformat.NotebookNode]]:
    """``count`` submissions: solutions, untouched student versions, and one task undone."""
    answers = [meta(c)["grade_id"] for c in source.cells if c.cell_type == "code" and meta(c).get("solution")]
    stubs = {meta(c)["grade_id"]: c.source for c in release.cells if meta(c).get("grade_id") in answers}
    submissions = []
    for number in range(count):
        kind = number % 10
        if kind < 5:
            notebook = source
        elif kind < 7:
            notebook = release
        else:
            notebook = copy.deepcopy(source)
            undone = answers[number % len(answers)]
            for cell in notebook.cells:
                if meta(cell).get("grade_id") == undone:
                    cell.source = stubs[undone]
        submissions.append((f"student-{number:03d}", notebook))
    return submissions


def environment_for(home: Path) -> dict[str, str]:
    """The environment for running nbgrader in a scratch folder `home`.

    Its kernel "python3" is this Python, no personal Jupyter or nbgrader configuration is read
    (JUPYTER_PATH and JUPYTER_CONFIG_DIR point into `home`), this Python's folder comes first
    on PATH (nbgrader calls `alembic` when it creates a gradebook), warnings stay out of
    nbgrader's log, and the sandbox's opt-out variable is removed, so grading is sandboxed.
    """
    kernel = home / "jupyter-data" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    (home / "jupyter-config").mkdir()
    environment = {k: v for k, v in os.environ.items() if k != OPT_OUT_VARIABLE}
    environment.update({"JUPYTER_PATH": str(home / "jupyter-data"),
                        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
                        "PATH": str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", ""),
                        "PYTHONWARNINGS": "ignore"})
    return environment


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(course_folder: Path, assignment: str, count: int, jobs: int) -> list[dict]:
    home = Path(tempfile.mkdtemp(prefix="lr2dnn-throughput-"))
    try:
        course = home / "course"
        course.mkdir()
        shutil.copytree(course_folder / "source" / assignment, course / "source" / assignment)
        shutil.copytree(HERE, course / "course_grading", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(course_folder / "nbgrader_config.py", course / "nbgrader_config.py")
        environment = environment_for(home)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        subprocess.run([*nbgrader, "generate_assignment", assignment, "--force"], cwd=course,
                       env=environment, check=True, capture_output=True)
        source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        for student, notebook in class_of(source, release, count):
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / f"{assignment}.ipynb")
        results = []
        for sandbox in (True, False):
            for workers in (1, jobs):
                env = dict(environment)
                if not sandbox:
                    env[OPT_OUT_VARIABLE] = "1"
                if workers == 1:
                    command = [*nbgrader, "autograde", assignment, "--force"]
                else:
                    command = [sys.executable, "-m", "course_grading", "autograde", assignment,
                               "--jobs", str(workers), "--force"]
                before = load()
                start = time.perf_counter()
                process = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
                seconds = time.perf_counter() - start
                if process.returncode != 0:
                    raise RuntimeError(process.stderr[-20000:])
                results.append({"sandbox": sandbox, "workers": workers, "submissions": count,
                                "seconds": round(seconds, 1), "per_submission": round(seconds / count, 2),
                                "load_before": before, "load_after": load()})
                print(json.dumps(results[-1]), flush=True)
        return results
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    arguments = parser.parse_args(argv)
    if arguments.submissions < 1:
        raise SystemExit(f"--submissions must be a positive integer, got {arguments.submissions}")
    measure(Path.cwd(), arguments.assignment, arguments.submissions, arguments.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
