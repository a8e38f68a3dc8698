"""Make a term variant of the graded exercise sets: the same tasks with other data, seeds and
hidden inputs, derived from one secret.

The public repository holds the exercise sets with their solutions and hidden tests, so a student
who searches can find them. For graded use an instructor keeps a private copy of the course
directory, and this command makes that copy differ from the public one: every integer seed
written as a literal in a source notebook (``np.random.seed(42)``, ``np.random.default_rng(7)``,
``torch.manual_seed(0)``, ``seed_everything(3)``, ``random_state=0``, ...) is replaced by a number
derived from the secret, the set and the old seed with HMAC-SHA256. The simulated data of the
visible cells, the random inputs of the hidden tests and the hidden choices (another first test
day, another change point) all come from such seeds, so they all change; equal seeds stay equal
(a test that needs "the same seed twice" keeps working). The same secret always gives the same
variant, so the copy can be rebuilt at any time.

Each variant set's solution notebook is then executed (``--no-check`` skips this): every
autograded test cell must pass. If a set fails with the derived seeds, which can happen when a
threshold test meets an unlucky draw, the set is derived again with the next *attempt* number (up
to ``--attempts``); the attempt used is part of the variant and written to ``VARIANT.md``.

Usage, from the repository's top folder::

    python tools/exercise_variant.py --secret-file ~/private/term-2026.key --output ~/private/lr2dnn-exercises
    LR2DNN_VARIANT_SECRET='a long passphrase' python tools/exercise_variant.py --passphrase-env LR2DNN_VARIANT_SECRET --output ...
    python tools/exercise_variant.py --output ...            # asks for the passphrase

Then, in the output folder (``cd <output>``): ``nbgrader generate_assignment "*" --force`` and
the steps of ``exercises/README.md``. See the README's section "Term variants".
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import getpass
import hashlib
import hmac
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SEED_FUNCTIONS = {"seed", "default_rng", "manual_seed", "seed_everything", "RandomState", "PCG64"}
SEED_KEYWORDS = {"random_state", "seed"}
COPIED = ("nbgrader_config.py", "README.md", "index.md", ".gitignore")


def derive_seed(secret: bytes, set_name: str, old: int, attempt: int = 0) -> int:
    """A seed in [1, 2**31 - 1] derived from the secret, the set, the old seed and the attempt."""
    message = f"lr2dnn-exercise-variant/{set_name}/{attempt}/{old}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (2**31 - 1)


def fingerprint(secret: bytes) -> str:
    """A short name for a secret that does not reveal it (to tell variants apart)."""
    return hmac.new(secret, b"lr2dnn-exercise-variant/fingerprint", hashlib.sha256).hexdigest()[:12]


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def seed_literals(source: str) -> list[ast.Constant]:
    """The integer literals of a code cell that are seeds: the first argument of a seeding call,
    or the value of a ``random_state=`` / ``seed=`` keyword. A cell that is not plain Python (an
    IPython magic, such as the Colab bootstrap's ``%pip``) has none."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return seed_literals_of_tree(tree)


def seed_literals_of_tree(tree: ast.AST) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        candidates = []
        if _called_name(node) in SEED_FUNCTIONS and node.args:
            candidates.append(node.args[0])
        candidates += [kw.value for kw in node.keywords if kw.arg in SEED_KEYWORDS]
        for value in candidates:
            if isinstance(value, ast.Constant) and type(value.value) is int:
                found.append(value)
    return found


def _offset(source: str, node: ast.Constant) -> tuple[int, int]:
    """Character offsets of a literal in the cell source (ast counts columns in UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: node.lineno - 1]) + len(
        lines[node.lineno - 1].encode()[: node.col_offset].decode())
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + len(
        lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode())
    return start, end


def vary_source(source: str, mapping) -> tuple[str, list[tuple[int, int]]]:
    """The cell source with every seed literal replaced by mapping(old); and the (old, new) pairs."""
    edits = sorted((_offset(source, node), node.value) for node in seed_literals(source))
    changes, pieces, last = [], [], 0
    for (start, end), old in edits:
        new = mapping(old)
        pieces += [source[last:start], str(new)]
        last = end
        changes.append((old, new))
    pieces.append(source[last:])
    return "".join(pieces), changes


def vary_notebook(path: Path, secret: bytes, set_name: str, attempt: int) -> list[tuple[int, int]]:
    """Rewrite the seeds of one source notebook in place; return the (old, new) pairs."""
    notebook = nbformat.read(path, as_version=4)
    changes = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source, cell_changes = vary_source(
                cell.source, lambda old: derive_seed(secret, set_name, old, attempt))
            changes += cell_changes
    nbformat.write(notebook, path)
    return changes


def check_solution(path: str, timeout: int = 120) -> list[str]:
    """Execute a source notebook; return the grade ids of the autograded cells that fail."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    failed = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            if any(o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
                   for o in cell.outputs):
                failed.append(meta["grade_id"])
    return failed


def read_secret(args: argparse.Namespace) -> bytes:
    if args.secret_file:
        secret = Path(args.secret_file).expanduser().read_bytes().strip()
    elif args.passphrase_env:
        if args.passphrase_env not in os.environ:
            raise SystemExit(f"error: the environment variable {args.passphrase_env} is not set")
        secret = os.environ[args.passphrase_env].encode()
    else:
        secret = getpass.getpass("Passphrase for the term variant: ").encode()
    if len(secret) < 12:
        raise SystemExit("error: the secret must have at least 12 characters (a long passphrase or a key file)")
    return secret


def make_variant(secret: bytes, output: Path, sets: list[str] | None = None, check: bool = True,
                 attempts: int = 5, workers: int = 2, log=print) -> dict[str, dict]:
    """Write the variant course directory to ``output``; return, per set, the attempt used, the
    seeds changed and (if checked) the failing cells of the last attempt (empty when it passed)."""
    all_sets = sorted(p.name for p in (EXERCISES / "source").iterdir() if p.is_dir())
    sets = sets or all_sets
    unknown = set(sets) - set(all_sets)
    if unknown:
        raise SystemExit(f"error: no such exercise sets: {', '.join(sorted(unknown))}")
    output.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (EXERCISES / name).exists():
            shutil.copy(EXERCISES / name, output / name)
    report = {}
    pending = {set_name: 0 for set_name in sets}
    while pending:
        for set_name, attempt in pending.items():
            target = output / "source" / set_name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(EXERCISES / "source" / set_name, target)
            changes = vary_notebook(target / f"{set_name}.ipynb", secret, set_name, attempt)
            report[set_name] = {"attempt": attempt, "seeds": changes, "failed": []}
        if not check:
            break
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {set_name: pool.submit(check_solution, str(output / "source" / set_name / f"{set_name}.ipynb"))
                       for set_name in pending}
        retry = {}
        for set_name, future in futures.items():
            failed = future.result()
            report[set_name]["failed"] = failed
            if failed and pending[set_name] + 1 < attempts:
                log(f"{set_name}: attempt {pending[set_name]} fails {', '.join(failed)}; deriving again")
                retry[set_name] = pending[set_name] + 1
            elif failed:
                log(f"{set_name}: still failing after {attempts} attempts: {', '.join(failed)}")
        pending = retry
    write_notes(output, secret, report, checked=check)
    return report


def write_notes(output: Path, secret: bytes, report: dict, checked: bool) -> None:
    lines = ["# Term variant of the exercise sets", "",
             f"Made by `tools/exercise_variant.py` from a secret with fingerprint `{fingerprint(secret)}`.",
             "Keep this folder private; rebuild it at any time from the same secret.", "",
             "| set | attempt | seeds changed | solution check |", "| --- | --- | --- | --- |"]
    for set_name, entry in sorted(report.items()):
        status = ("not run" if not checked else "passes" if not entry["failed"]
                  else "FAILS: " + ", ".join(entry["failed"]))
        lines.append(f"| `{set_name}` | {entry['attempt']} | {len(entry['seeds'])} | {status} |")
    lines += ["", "Next: `nbgrader generate_assignment \"*\" --force` in this folder, then the steps of "
              "`README.md` (section \"Term variants\").", ""]
    (output / "VARIANT.md").write_text("\n".join(lines))
    (output / "variant.json").write_text(json.dumps(
        {"fingerprint": fingerprint(secret),
         "sets": {name: {"attempt": e["attempt"], "seeds": e["seeds"], "failed": e["failed"]}
                  for name, e in sorted(report.items())}}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    secret_group = parser.add_mutually_exclusive_group()
    secret_group.add_argument("--secret-file", help="a file whose content is the secret (e.g. 32 random bytes)")
    secret_group.add_argument("--passphrase-env", metavar="VARIABLE",
                              help="the name of an environment variable that holds the passphrase")
    parser.add_argument("--output", required=True, help="the private course folder to write (outside the public repository)")
    parser.add_argument("--sets", nargs="*", help="only these sets (default: all)")
    parser.add_argument("--no-check", action="store_true", help="do not execute the variant solutions")
    parser.add_argument("--attempts", type=int, default=5, help="derivations to try per set before giving up (default 5)")
    parser.add_argument("--force", action="store_true", help="write into an existing output folder")
    args = parser.parse_args(argv)

    output = Path(args.output).expanduser().resolve()
    if output == EXERCISES.resolve() or EXERCISES.resolve() in output.parents or output in EXERCISES.resolve().parents:
        raise SystemExit("error: the output must be a folder of its own, outside the repository's exercises/")
    if output.exists() and any(output.iterdir()) and not args.force:
        raise SystemExit(f"error: {output} exists and is not empty (use --force to overwrite its sets)")
    secret = read_secret(args)
    report = make_variant(secret, output, args.sets, check=not args.no_check, attempts=args.attempts)
    failing = [name for name, entry in report.items() if entry["failed"]]
    print(f"variant {fingerprint(secret)} written to {output}: {len(report)} sets, "
          f"{sum(len(e['seeds']) for e in report.values())} seeds changed")
    if failing:
        print(f"error: the solutions of {', '.join(failing)} fail in every attempt; see VARIANT.md", file=sys.stderr)
        return 1
    print(f"next: cd {output} && nbgrader generate_assignment \"*\" --force")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
