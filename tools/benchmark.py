"""Execute every chapter notebook and print how long each one takes.

Usage::

    python tools/benchmark.py                      # every chapter
    python tools/benchmark.py chapters/01-*.ipynb  # some of them
    python tools/benchmark.py --repeat 3           # best of three runs
    python tools/benchmark.py --status status.md   # also write the book's status page

Each notebook is executed from a fresh kernel in its own folder, exactly as
``jupyter nbconvert --execute`` would, but the stored notebook is left untouched. The
limits are those of the course: 30 s per chapter, 120 s for the case study (chapter 9).
The exit status is 1 if a notebook fails or is over its limit.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"09": 120.0}
DEFAULT_LIMIT = 30.0
PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "plotnine", "torch", "ipykernel",
            "nbclient", "jupyter-book", "nbval")


def limit_for(path: Path) -> float:
    return LIMITS.get(path.name[:2], DEFAULT_LIMIT)


def execute(path: Path) -> float:
    """Execute a notebook in a fresh kernel and return the wall-clock seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def title_of(path: Path) -> str:
    """The notebook's first markdown heading."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return path.stem


def status_page(rows: list[tuple[Path, float]]) -> str:
    """The book's status page: every notebook's time and the versions it ran with."""
    lines = [
        "# Status of the notebooks",
        "",
        "This page is written by `python tools/benchmark.py --status status.md`, which executes",
        "every chapter notebook from a fresh kernel and times it; do not edit it by hand.",
        f"Last run: {datetime.date.today().isoformat()}, on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores, {platform.system()}.",
        "",
        "| notebook | title | seconds | limit | verdict |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for path, seconds in rows:
        verdict = "ok" if seconds <= limit_for(path) else "too slow"
        lines.append(f"| `{path.name}` | {title_of(path)} | {seconds:.1f} | "
                     f"{limit_for(path):.0f} | {verdict} |")
    lines += ["", "The notebooks were executed with these versions:", "",
              "| package | version |", "| --- | --- |",
              f"| Python | {platform.python_version()} |"]
    lines += [f"| {name} | {metadata.version(name)} |" for name in PACKAGES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; best is kept")
    parser.add_argument("--status", type=Path, help="write the book's status page to this file")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'notebook':<40} {'seconds':>8} {'limit':>6}  verdict")
    failed = False
    rows = []
    for path in paths:
        seconds = min(execute(path) for _ in range(max(1, args.repeat)))
        rows.append((path, seconds))
        ok = seconds <= limit_for(path)
        failed |= not ok
        print(f"{path.name:<40} {seconds:8.1f} {limit_for(path):6.0f}  {'ok' if ok else 'TOO SLOW'}", flush=True)
    if args.status:
        args.status.write_text(status_page(rows))
        print(f"wrote {args.status}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
