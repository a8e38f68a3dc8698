"""The course's own nbgrader preprocessors (see ``nbgrader_config.py`` for where each runs).

Autograding, after the notebook has run:

- ``NoPartialCredit``: a test cell earns all its points or none. nbgrader would read an output
  value of a test cell as partial credit, and it stops at the first such value, even if an error
  follows; a student's function called by a test could print a value that way. Values shown by
  test cells become plain displays, so only errors and stderr decide.
- ``RemoveActiveContent``: drops outputs that a browser would run (JavaScript, HTML, SVG,
  Markdown, widgets) from every cell; the plain-text version of an output stays. And in the
  Markdown cells a student wrote, raw HTML is shown as text (``<script>`` stays visible but
  inert; math and code are left alone). The formgrader and the feedback pages render both for
  the instructor and the student, and nbgrader's templates do not sanitise Markdown cells.
- ``TamperCheck``: the static checks of ``tamper.py`` on the students' cells; the test cells
  after the first flagged cell earn no automatic points, and every finding goes into the report
  ``tamper-report.csv`` in the course folder and into nbgrader's log.

Feedback:

- ``HideHiddenTests``: the hidden tests' source is removed from the feedback, and a hidden test
  cell shows only its result: passed, or the error's name and the first line of its message
  (points are shown by nbgrader's template).
"""

from __future__ import annotations

import csv
import fcntl
import os
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from .tamper import Finding, check_cells

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
ACTIVE_TYPES = ("application/javascript", "text/javascript", "text/html", "image/svg+xml",
                "text/markdown", "application/vnd.jupyter.widget-view+json",
                "application/vnd.jupyter.widget-state+json")
REPORT_NAME = "tamper-report.csv"
REPORT_COLUMNS = ["assignment", "student", "notebook", "cell", "line", "rule", "finding", "code",
                  "tests_without_points", "status"]


def is_test_cell(cell) -> bool:
    """An automatically graded test cell (restored from the instructor's version)."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def cell_name(cell, index: int) -> str:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    return grade_id or f"cell {index + 1}"


def instructor_cells(course_root: str, assignment: str, notebook: str, cell_type: str) -> set[str] | None:
    """The stripped sources of the instructor's cells of this type (from release/ or source/)."""
    root = Path(course_root or os.getcwd())
    for folder in ("release", "source"):
        path = root / folder / assignment / f"{notebook}.ipynb"
        if path.exists():
            return {cell.source.strip() for cell in nbformat.read(path, as_version=4).cells
                    if cell.cell_type == cell_type}
    return None


class NoPartialCredit(NbGraderPreprocessor):
    """Turn the output values of test cells into displays (see the module docstring)."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            for output in cell.outputs:
                if output.output_type == "execute_result":
                    output.output_type = "display_data"
                    output.pop("execution_count", None)
        return cell, resources


# Markdown that a renderer leaves alone: fenced and inline code, display and inline math.
PROTECTED = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$)", re.DOTALL)


def inert_markdown(source: str) -> str:
    """Markdown with its raw HTML tags and ``javascript:`` links made plain text."""
    parts = PROTECTED.split(source)
    for index in range(0, len(parts), 2):   # the even parts lie outside code and math
        text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", parts[index])
        parts[index] = re.sub(r"(?i)javascript\s*:", "javascript-blocked:", text)
    return "".join(parts)


class RemoveActiveContent(NbGraderPreprocessor):
    """Drop outputs a browser would execute; make students' Markdown HTML-free (module doc)."""

    course_root = Unicode("", help="The course folder (default: the current folder).").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        instructor = instructor_cells(self.course_root, info.get("assignment", ""),
                                      info.get("notebook", ""), "markdown") or set()
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.source.strip() not in instructor:
                cell.source = inert_markdown(cell.source)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for output in cell.outputs:
            data = output.get("data")
            if data is not None:
                for mime in ACTIVE_TYPES:
                    data.pop(mime, None)
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept
        return cell, resources


def write_report(path: Path, assignment: str, student: str, rows: list[dict]) -> None:
    """Replace this submission's rows of the CSV report at ``path`` by ``rows`` (file-locked)."""
    path.touch(exist_ok=True)
    with open(path, "r+", newline="") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        kept = [row for row in csv.DictReader(stream)
                if (row["assignment"], row["student"]) != (assignment, student)]
        stream.seek(0)
        stream.truncate()
        writer = csv.DictWriter(stream, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(kept + rows)


def read_report(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


class TamperCheck(NbGraderPreprocessor):
    """Flag tampering in students' cells; tests after the first flagged cell earn nothing."""

    course_root = Unicode("", help="The course folder (default: the current folder, where "
                                   "nbgrader works).").tag(config=True)
    reviewed = List(Unicode(), help="Submissions the instructor has reviewed and accepts, as "
                                    "'<student>/<assignment>': their findings are reported, "
                                    "but their tests count.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        instructor = instructor_cells(self.course_root, assignment, notebook, "code")
        if instructor is None:
            self.log.warning("Tamper check: no release or source notebook of %s found; every "
                             "cell that is not a test is checked.", assignment)
            instructor = set()
        cells = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                kind = "test"
            elif utils.is_solution(cell) or cell.source.strip() not in instructor:
                kind = "student"
            else:
                kind = "instructor"
            cells.append((index, cell.source, kind))
        findings = check_cells(cells)
        accepted = f"{student}/{assignment}" in self.reviewed
        zeroed: list[str] = []
        if findings:
            first = findings[0].cell_index
            if not accepted:
                zeroed = self._zero_tests_after(nb, first, findings[0])
            for finding in findings:
                self.log.warning("Tamper check: %s, %s, %s line %d: %s [%s]%s", student, assignment,
                                 cell_name(nb.cells[finding.cell_index], finding.cell_index),
                                 finding.line, finding.message, finding.rule,
                                 " (reviewed: points count)" if accepted else "")
            if zeroed:
                self.log.warning("Tamper check: %s, %s: %d test cell(s) after the first flagged cell "
                                 "earn no automatic points; see %s", student, assignment,
                                 len(zeroed), REPORT_NAME)
        rows = [self._row(nb, assignment, student, notebook, f, zeroed, accepted) for f in findings]
        write_report(Path(self.course_root or os.getcwd()) / REPORT_NAME, assignment, student, rows)
        return nb, resources

    @staticmethod
    def _zero_tests_after(nb, first: int, finding: Finding) -> list[str]:
        zeroed = []
        where = cell_name(nb.cells[first], first)
        for index, cell in enumerate(nb.cells[first + 1:], start=first + 1):
            if not is_test_cell(cell):
                continue
            message = (f"no automatic points: {where}, line {finding.line}, {finding.message} "
                       f"({finding.rule}). Your instructor reviews this.")
            # First, because nbgrader scores a cell by its first error or value.
            cell.outputs.insert(0, new_output("error", ename="TamperCheck", evalue=message,
                                              traceback=[f"TamperCheck: {message}"]))
            zeroed.append(cell_name(cell, index))
        return zeroed

    @staticmethod
    def _row(nb, assignment, student, notebook, finding: Finding, zeroed, accepted) -> dict:
        return {"assignment": assignment, "student": student, "notebook": notebook,
                "cell": cell_name(nb.cells[finding.cell_index], finding.cell_index),
                "line": finding.line, "rule": finding.rule, "finding": finding.message,
                "code": finding.code[:200], "tests_without_points": " ".join(zeroed),
                "status": "reviewed: points count" if accepted else "flagged: review by hand"}


def without_hidden_tests(source: str) -> str:
    """A test cell's source without its hidden region, with a line saying where it was."""
    lines, kept, hidden = source.split("\n"), [], False
    for line in lines:
        if BEGIN_HIDDEN in line:
            hidden = True
            kept.append("# (hidden tests: run by the grader, not shown)")
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def first_line(text: str, limit: int = 200) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit] + " ..."


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback: remove hidden tests' source and show only their result (module docstring)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or BEGIN_HIDDEN not in cell.source:
            return cell, resources
        cell.source = without_hidden_tests(cell.source)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.get("name") == "stderr"]
        if errors:
            error = errors[0]
            message = first_line(error.get("evalue", ""))
            text = f"{error.ename}: {message}" if message else error.ename
            cell.outputs = [new_output("error", ename=error.ename, evalue=message,
                                       traceback=[f"Hidden tests failed. {text}"])]
        elif stderr:
            cell.outputs = [new_output("stream", name="stdout", text=(
                "Hidden tests failed: the cell wrote to stderr (a warning counts as a failure).\n"))]
        else:
            cell.outputs = [new_output("stream", name="stdout", text="Hidden tests passed.\n")]
        return cell, resources
