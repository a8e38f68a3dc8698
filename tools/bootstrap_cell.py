"""Write or check the Colab bootstrap cell at the top of every course notebook.

The cell is generated from ``lib/lr2dnn/release.py``, the one place that names the course's
repository and release, so that all notebooks install the same thing in Colab.

The default notebooks are the chapters, the exercise sets' source notebooks
(``exercises/source/<set>/<set>.ipynb``) and their generated student versions
(``exercises/release/<set>/<set>.ipynb``). A student version is never edited here: ``--write``
writes the bootstrap into the source and then regenerates the set's release with
``nbgrader generate_assignment --force --no-db`` (no gradebook is written), so the committed
release stays exactly what nbgrader makes from the source.

Usage::

    python tools/bootstrap_cell.py --check     # exit 1 if a notebook's cell is out of date
    python tools/bootstrap_cell.py --write     # make every first code cell the bootstrap
    python tools/bootstrap_cell.py --write chapters/01-linear-regression.ipynb
    python tools/bootstrap_cell.py --write exercises/source/ex01-linear-regression/ex01-linear-regression.ipynb
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Colab bootstrap"
NOTEBOOK_GLOBS = ("chapters/*.ipynb", "exercises/source/*/*.ipynb", "exercises/release/*/*.ipynb")
EXERCISES = ROOT / "exercises"


def install_source() -> str:
    """Read ``INSTALL_SOURCE`` from release.py without importing the package."""
    tree = ast.parse((ROOT / "lib" / "lr2dnn" / "release.py").read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant):
            values[node.target.id] = node.value.value
    return f"git+{values['REPOSITORY_URL']}@{values['RELEASE_TAG']}"


def cell_source() -> str:
    """The source of the bootstrap cell."""
    return "\n".join(
        [
            f"{MARKER}: in Google Colab, install the course's helper package; elsewhere, do nothing.",
            "import os, sys",
            "",
            'if "google.colab" in sys.modules:',
            f'    source = os.environ.get("LR2DNN_INSTALL_SOURCE", "{install_source()}")',
            "    %pip install --quiet {source}",
        ]
    )


def first_code_cell(notebook) -> nbformat.NotebookNode | None:
    return next((cell for cell in notebook.cells if cell.cell_type == "code"), None)


def is_current(path: Path) -> bool:
    cell = first_code_cell(nbformat.read(path, as_version=4))
    return cell is not None and cell.source == cell_source()


def write(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    cell = first_code_cell(notebook)
    if cell is None or not cell.source.startswith(MARKER):
        cell = nbformat.v4.new_code_cell()
        position = next(
            (i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), len(notebook.cells)
        )
        notebook.cells.insert(position, cell)
    cell.source = cell_source()
    cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {"hide-cell"})
    nbformat.write(notebook, path)


def exercise_notebook(path: Path) -> tuple[str, str] | None:
    """("source" or "release", set name) for an exercise set's notebook, else None."""
    try:
        parts = path.resolve().relative_to(EXERCISES.resolve()).parts
    except ValueError:
        return None
    if len(parts) == 3 and parts[0] in ("source", "release") and parts[2] == f"{parts[1]}.ipynb":
        return parts[0], parts[1]
    return None


def regenerate_release(set_name: str) -> None:
    """Rebuild ``exercises/release/<set>/`` from its source notebook with nbgrader."""
    process = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", set_name, "--force", "--no-db"],
        cwd=EXERCISES, capture_output=True, text=True,
    )
    if process.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment {set_name} failed:\n{process.stderr[-3000:]}")
    print(f"regenerated exercises/release/{set_name}/{set_name}.ipynb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="report out-of-date notebooks")
    action.add_argument("--write", action="store_true", help="rewrite the bootstrap cells")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every chapter and exercise notebook")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(p for g in NOTEBOOK_GLOBS for p in ROOT.glob(g))
    stale = [p for p in paths if not is_current(p)]
    if args.write:
        releases = set()
        for path in stale:
            kind, set_name = exercise_notebook(path) or (None, None)
            if kind == "release":          # generated: fix its source, then regenerate it
                path = EXERCISES / "source" / set_name / f"{set_name}.ipynb"
            if kind is not None:
                releases.add(set_name)
            if not is_current(path):
                write(path)
                print(f"updated {path}")
        for set_name in sorted(releases):
            regenerate_release(set_name)
        return 0
    for path in stale:
        print(f"{path}: the first code cell is not the current Colab bootstrap", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
