"""The graded exercise sets and the instructor's nbgrader workflow work end to end.

Everything happens in a temporary copy of ``exercises/`` (its ``source/`` folder and
``nbgrader_config.py``), exactly as ``exercises/README.md`` tells an instructor to work:
``nbgrader generate_assignment``, submissions in ``submitted/<student>/<set>/<set>.ipynb``,
``nbgrader autograde``, ``nbgrader export`` and ``nbgrader generate_feedback``. nbgrader runs as
``sys.executable -m nbgrader``, and its kernel "python3" is pinned to ``sys.executable`` through
a kernel spec in a temporary ``JUPYTER_PATH``, so the test uses the current environment. No
gradebook, ``submitted/`` or ``autograded/`` folder is ever written into the repository.

The submissions graded:

- for every set, ``solution`` (the source notebook, solutions filled in) must earn every
  automatically graded point, and ``untouched`` (the committed student version, unchanged)
  must earn none;
- for set 1, four broken submissions built from the solution: a wrong answer (one task
  hard-coded to pass its visible test only, one with a wrong formula), a function that raises,
  an endless loop (stopped by the cell timeout of ``nbgrader_config.py``) and tampered cells
  (deleted test cells and a deleted answer, an edited test cell, changed points), which
  autograding restores and runs;
- in a second autograding run, a renamed file, a kernel that dies and a solution cell deleted
  with its test cell, which nbgrader reports as errors without losing the submissions or the
  other students' grades.

The collection of wrong-but-plausible solutions of every set, and the correct variants that must
keep their points, are graded in ``test_grading_wrong.py``; the term variants of
``tools/exercise_variant.py`` are tested in ``test_grading_variant.py``. The conventions of the
source notebooks (points, rubrics, hints, hidden-test cells, messages, figures) are checked here.
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

from test_colab_alone import colab_python  # noqa: F401 (a fixture: a Python that believes it is in Colab)
from test_colab_alone import run_in_colab_stand_in

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
sys.path.insert(0, str(EXERCISES))
from course_grading.sandbox import OPT_OUT_VARIABLE  # noqa: E402
from course_grading.throughput import environment_for  # noqa: E402
SETS = sorted(path.name for path in (EXERCISES / "source").glob("ex*") if path.is_dir())
COURSE_ID = "lr2dnn"
SET_1, SET_6, SET_9 = "ex01-linear-regression", "ex06-neural-networks", "ex09-covid-case-study"
HIDDEN_HEADER = re.compile(r"^# Hidden test for task (\d+), ([^(]+) \((\d+) points?[,)]")


# ----------------------------------------------------------------------------- helpers

def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def source_notebook(set_name: str) -> Path:
    return EXERCISES / "source" / set_name / f"{set_name}.ipynb"


def release_notebook(set_name: str) -> Path:
    return EXERCISES / "release" / set_name / f"{set_name}.ipynb"


def with_cells_replaced(set_name: str, replacements: dict[str, str], delete: tuple[str, ...] = (),
                        points: dict[str, int] | None = None):
    """The solution notebook of a set with some cells' sources replaced, some cells deleted and
    some cells' points changed."""
    points = points or {}
    notebook = read(source_notebook(set_name))
    found = {grade_id(cell) for cell in notebook.cells}
    missing = (set(replacements) | set(delete) | set(points)) - found
    assert not missing, f"no cells {missing} in {set_name}"
    notebook.cells = [cell for cell in notebook.cells if grade_id(cell) not in delete]
    for cell in notebook.cells:
        if grade_id(cell) in replacements:
            cell.source = replacements[grade_id(cell)]
        if grade_id(cell) in points:
            cell.metadata.nbgrader["points"] = points[grade_id(cell)]
    return notebook


def submit(course: Path, student: str, set_name: str, notebook, file_name: str | None = None) -> None:
    folder = course / "submitted" / student / set_name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / (file_name or f"{set_name}.ipynb"))


def nbgrader_environment(home: Path) -> dict[str, str]:
    """The course tool's grading environment (course_grading.throughput.environment_for).

    The course's config refuses to grade without its sandbox (bubblewrap) unless told to; only
    where bubblewrap is missing do these tests grade unsandboxed."""
    environment = environment_for(home)
    if shutil.which("bwrap") is None:
        environment[OPT_OUT_VARIABLE] = "1"
    return environment


def make_course(home: Path, sets: list[str] | None = None, source: Path | None = None) -> Path:
    """A temporary course directory: the sources of some sets (all by default) and the course's
    configuration (nbgrader_config.py and any Python module or package beside it)."""
    course = home / "course"
    course.mkdir()
    source = source or EXERCISES / "source"
    for set_name in sets or SETS:
        shutil.copytree(source / set_name, course / "source" / set_name)
    for path in EXERCISES.iterdir():
        if path.suffix == ".py":
            shutil.copy(path, course / path.name)
        elif path.is_dir() and (path / "__init__.py").exists():
            shutil.copytree(path, course / path.name, ignore=shutil.ignore_patterns("__pycache__"))
    return course


# The grading tests run two autograde processes at once on a 2-core machine (see grading_pool):
# one thread each for the numerical libraries in the sandboxed kernels, as ``python -m
# course_grading autograde --jobs 2`` gives its workers.
ONE_THREAD = "--SandboxedKernelManager.threads=1"


def nbgrader(course: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course,
                          env=environment, capture_output=True, text=True, timeout=1200)


def code_grades(gradebook: Gradebook, set_name: str, student: str) -> dict[str, tuple]:
    """{grade cell: (automatic score, maximum)} for the automatically graded cells."""
    notebook = gradebook.find_submission_notebook(set_name, set_name, student)
    return {grade.name: (grade.auto_score, grade.max_score)
            for grade in notebook.grades if grade.cell_type == "code"}


def repository_state() -> set[str]:
    return {str(path.relative_to(EXERCISES)) for path in EXERCISES.rglob("*")
            if "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts}


# ------------------------------------------------------- the broken submissions of set 1

WRONG_LOSSES = '''
def mean_absolute_error(y, y_hat):
    return float(np.mean(np.abs(np.asarray(y_hat) - np.asarray(y))))


def mse_cost(y, y_hat):
    return float(np.mean((np.asarray(y_hat) - np.asarray(y)) ** 2))   # forgot the 1/2
'''

HARD_CODED_LINE = '''
def line_through(p1, p2):
    return 0.125, 17.5          # the visible example's answer, whatever the points
'''

RAISING_NORMAL_EQUATION = '''
def add_intercept(X):
    return np.column_stack([np.ones(len(X)), X])


def fit_normal_equation(X, y):
    return np.linalg.solve(X.T @ X, X @ y)    # X @ y: shapes do not match, raises ValueError
'''

ENDLESS_LOOP_LINE = '''
# my own experiment first: from which distance does a ticket cost 100 EUR?
distance = 100
while 0.125 * distance + 17.5 < 100:
    distance + 10               # meant distance += 10: the loop never ends


def line_through(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    w = (y2 - y1) / (x2 - x1)
    return w, y1 - w * x1
'''

BROKEN_SET_1 = {
    # student: (cells replaced, cells deleted, {grade cell: expected automatic score})
    "wrong-answer": (
        {"losses": WRONG_LOSSES, "line-through": HARD_CODED_LINE}, (),
        {"test-losses-visible": 0, "test-losses-hidden-values": 0, "test-losses-hidden-edges": 0,
         "test-line-through-visible": 1, "test-line-through-hidden": 0},
    ),
    "raises": (
        {"normal-equation": RAISING_NORMAL_EQUATION}, (),
        {"test-normal-equation-visible": 0, "test-normal-equation-hidden-rules": 0,
         "test-normal-equation-hidden-values": 0},
    ),
    "endless-loop": (
        {"line-through": ENDLESS_LOOP_LINE}, (),
        {"test-line-through-visible": 0, "test-line-through-hidden": 0},
    ),
    # A wrong cost whose three test cells were deleted, a correct answer whose visible test was
    # deleted, a deleted written answer, and a wrong function whose hidden test cell was edited to
    # pass: autograding puts the instructor's cells back and runs them. (The points of another
    # test cell are changed too, see TAMPERED_POINTS.)
    "tampered": (
        {"losses": WRONG_LOSSES,
         "gram-invertible": "def gram_is_invertible(X):\n    return True\n",
         "test-gram-invertible-hidden": "print('all tests passed')\n"},
        ("test-losses-visible", "test-losses-hidden-values", "test-losses-hidden-edges",
         "test-line-through-visible", "weighted-likelihood"),
        {"test-losses-visible": 0, "test-losses-hidden-values": 0, "test-losses-hidden-edges": 0,
         "test-line-through-visible": 1, "test-gram-invertible-visible": 0, "test-gram-invertible-hidden": 0},
    ),
}
TAMPERED_POINTS = {"test-normal-equation-visible": 100}
EXPECTED_DEVIATIONS = {(SET_1, student): spec[2] for student, spec in BROKEN_SET_1.items()}


def automatic_points(set_name: str) -> dict[str, int]:
    """{test cell: points} of a set's source notebook."""
    return {grade_id(cell): cell.metadata.nbgrader["points"] for cell in read(source_notebook(set_name)).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}


def expected_code_score(set_name: str, expected: dict[str, int]) -> float:
    return float(sum(expected.get(cell, points) for cell, points in automatic_points(set_name).items()))


# ----------------------------------------------------------------------------- fixtures

def main_job(home: Path):
    """The main course directory: every set generated, then the solutions, the untouched student
    versions and the broken submissions of set 1 autograded, and a second run for the
    submissions that nbgrader must report as errors."""
    course = make_course(home)
    environment = nbgrader_environment(home)
    process = nbgrader(course, environment, "generate_assignment", "*", "--force")
    assert process.returncode == 0, process.stderr[-3000:]
    for set_name in SETS:
        submit(course, "solution", set_name, read(source_notebook(set_name)))
        submit(course, "untouched", set_name, read(release_notebook(set_name)))
    for student, (replacements, deleted, _) in BROKEN_SET_1.items():
        points = TAMPERED_POINTS if student == "tampered" else None
        submit(course, student, SET_1, with_cells_replaced(SET_1, replacements, deleted, points))
    first = nbgrader(course, environment, "autograde", "*", ONE_THREAD)

    # Second run, only for these students: a renamed file, a kernel that dies, and a solution
    # cell deleted together with the test cell after it (nbgrader cannot tell where to put the
    # test back).
    submit(course, "broken-renamed", SET_1, read(source_notebook(SET_1)),
           file_name=f"{SET_1} (1).ipynb")
    submit(course, "broken-kernel", SET_1,
           with_cells_replaced(SET_1, {"losses": "import os\nos._exit(1)   # the kernel dies\n"}))
    submit(course, "broken-deleted-solution", SET_1,
           with_cells_replaced(SET_1, {}, ("line-through", "test-line-through-visible")))
    second = nbgrader(course, environment, "autograde", SET_1, "--student=broken-*", ONE_THREAD)
    return course, environment, first, second


_POOL_RESULTS: dict = {}


@pytest.fixture(scope="session")
def grading_pool(tmp_path_factory):
    """Every course directory of the grading tests, graded two at a time (a 2-core machine):
    the main one above, the two groups of wrong solutions of ``test_grading_wrong.py`` and the
    term variant of ``test_grading_variant.py``. Each has its own gradebook. The longest job
    starts first; the others follow on the other core. Returns {job name: its result}.

    The other two modules import this fixture; pytest then registers it once per module, so the
    results are kept here and the pool runs once per session."""
    from test_grading_variant import variant_job
    from test_grading_wrong import wrong_jobs

    before = repository_state()
    if not _POOL_RESULTS:
        (first_name, first_job), *other_wrong = wrong_jobs()
        jobs = [(first_name, first_job), ("main", main_job), ("variant", variant_job), *other_wrong]
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(job, tmp_path_factory.mktemp(name)) for name, job in jobs}
            _POOL_RESULTS.update({name: future.result() for name, future in futures.items()})
    yield _POOL_RESULTS
    assert repository_state() == before, "grading wrote into the repository's exercises/ folder"


@pytest.fixture(scope="module")
def course(grading_pool):
    """The main temporary course directory, in which every set has been generated."""
    return grading_pool["main"][:2]


@pytest.fixture(scope="module")
def graded(grading_pool):
    """Every submission of the main course autograded: the course, the environment, both runs."""
    return grading_pool["main"]


@pytest.fixture(scope="module")
def gradebook(graded):
    course = graded[0]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as book:
        yield book


# -------------------------------------------------------------------------------- tests

def test_there_is_one_set_per_chapter():
    assert SETS == [
        "ex01-linear-regression", "ex02-gradient-descent", "ex03-multiple-regression",
        "ex04-logistic-regression", "ex05-softmax-regression", "ex06-neural-networks",
        "ex07-backpropagation", "ex08-pytorch-and-optimisers", "ex09-covid-case-study",
    ]
    assert sorted(path.name for path in (EXERCISES / "release").glob("ex*")) == SETS


def test_config_sets_course_root_and_a_cell_timeout():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(EXERCISES)).load_config()
    assert Path(config.CourseDirectory.root) == EXERCISES
    assert config.CourseDirectory.course_id == COURSE_ID
    assert 0 < config.Execute.timeout <= 60 and config.Execute.interrupt_on_timeout is True
    assert config.OverwriteCells.add_missing_cells is True


@pytest.mark.parametrize("set_name", SETS)
def test_set_structure_points_and_rubrics(set_name):
    notebook = read(source_notebook(set_name))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].source.startswith("# Colab bootstrap"), "the first code cell is the Colab bootstrap"
    assert not any(cell.outputs for cell in code), "store source notebooks without outputs"
    tasks = [cell for cell in notebook.cells
             if cell.cell_type == "markdown" and cell.source.startswith("## Task")]
    assert 3 <= len(tasks) <= 8
    graded_cells = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    assert all(cell.metadata.nbgrader["points"] > 0 for cell in graded_cells), "points on every graded cell"
    tests = [cell for cell in graded_cells if cell.cell_type == "code"]
    answers = [cell for cell in graded_cells if cell.cell_type == "markdown"]
    assert tests and answers, "both automatically and manually graded tasks"
    assert sum("### BEGIN HIDDEN TESTS" in cell.source for cell in tests) >= 2
    assert all("### BEGIN SOLUTION" in cell.source for cell in notebook.cells
               if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code")
    for cell in answers:                      # the rubric's points add up to the cell's points
        rubric = re.findall(r"^- (\d+) points?:", cell.source, flags=re.MULTILINE)
        assert "**Rubric" in cell.source and rubric, f"{grade_id(cell)} has no rubric"
        assert sum(map(int, rubric)) == cell.metadata.nbgrader["points"], grade_id(cell)
    automatic = sum(cell.metadata.nbgrader["points"] for cell in tests)
    manual = sum(cell.metadata.nbgrader["points"] for cell in answers)
    assert f"**Points:** {automatic} graded automatically and {manual} graded by hand" in notebook.cells[0].source
    readme_row = re.search(rf"^\| `{set_name}` \|.*\| (\d+) \+ (\d+) \|$",
                           (EXERCISES / "README.md").read_text(), flags=re.MULTILINE)
    assert readme_row and readme_row.groups() == (str(automatic), str(manual)), "README's table of points"
    heading, per_task = None, {}              # each task's heading states the sum of its cells' points
    for cell in notebook.cells:
        if cell in tasks:
            heading = int(re.search(r"\((\d+) points?", cell.source).group(1))
            per_task[len(per_task)] = [heading, 0]
        elif cell in graded_cells:
            per_task[len(per_task) - 1][1] += cell.metadata.nbgrader["points"]
    assert all(stated == counted for stated, counted in per_task.values()), per_task


def tasks_of(notebook) -> list[tuple[int, list]]:
    """[(task number, the cells from its heading up to the next task)] of a notebook."""
    tasks = []
    for cell in notebook.cells:
        heading = re.match(r"## Task (\d+):", cell.source) if cell.cell_type == "markdown" else None
        if heading:
            tasks.append((int(heading.group(1)), []))
        elif tasks:
            tasks[-1][1].append(cell)
    return tasks


def hidden_region(source: str) -> str:
    match = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, flags=re.DOTALL)
    return match.group(1) if match else ""


@pytest.mark.parametrize("set_name", SETS)
def test_setup_and_grading_tools_are_locked_and_the_same_in_every_set(set_name):
    """The setup cell and the grading-tools cell are read-only (autograding restores them), and
    the tools are one cell, identical in every set, folded in the book."""
    code = [cell for cell in read(source_notebook(set_name)).cells if cell.cell_type == "code"]
    setup, tools = code[1], code[2]
    assert setup.metadata.nbgrader == {"grade": False, "grade_id": "setup", "locked": True,
                                       "schema_version": 3, "solution": False, "task": False}
    assert grade_id(tools) == "grading-tools" and tools.metadata.nbgrader["locked"] is True
    assert "hide-input" in tools.metadata.get("tags", [])
    reference = [c for c in read(source_notebook(SETS[0])).cells if grade_id(c) == "grading-tools"][0]
    assert tools.source == reference.source, f"the grading tools of {set_name} differ from those of {SETS[0]}"


@pytest.mark.parametrize("set_name", SETS)
def test_every_task_offers_two_optional_hints(set_name):
    for number, cells in tasks_of(read(source_notebook(set_name))):
        hints = [cell for cell in cells if "hint" in cell.metadata.get("tags", [])]
        assert hints, f"task {number} of {set_name} has no hint cell"
        for cell in hints:
            assert cell.cell_type == "markdown" and "nbgrader" not in cell.metadata, "hints are plain Markdown, worth nothing"
            assert "<summary>Hint 1" in cell.source and "<summary>Hint 2" in cell.source, f"task {number}: two hints"
            assert cell.source.count("<details>") == cell.source.count("</details>") == 2


@pytest.mark.parametrize("set_name", SETS)
def test_every_assertion_says_what_is_wrong(set_name):
    """Every assert of the test cells and the grading tools, hidden ones included, has a message."""
    for cell in read(source_notebook(set_name)).cells:
        if cell.cell_type != "code" or not (cell.metadata.get("nbgrader", {}).get("grade") or grade_id(cell) == "grading-tools"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assert):
                assert node.msg is not None, f"{grade_id(cell)}, line {node.lineno}: an assert without a message"


@pytest.mark.parametrize("set_name", SETS)
def test_hidden_tests_are_small_named_cells_with_their_own_generators(set_name):
    """Each hidden cell tests one category, for at most 2 points, names it in the comment that
    students see (with its points), and draws its random inputs from its own seeded generator,
    never from the notebook's shared one."""
    for number, cells in tasks_of(read(source_notebook(set_name))):
        for cell in cells:
            hidden = hidden_region(cell.source)
            if not hidden:
                continue
            points = cell.metadata.nbgrader["points"]
            header = HIDDEN_HEADER.match(cell.source)
            assert header, f"{grade_id(cell)}: the comment must say '# Hidden test for task N, <category> (P points)'"
            assert (int(header.group(1)), int(header.group(3))) == (number, points), f"{grade_id(cell)}: wrong task or points"
            assert points <= 2, f"{grade_id(cell)}: split it into smaller cells"
            assert "This cell is empty in your copy" in cell.source.split("### BEGIN HIDDEN TESTS")[0]
            for node in ast.walk(ast.parse(hidden)):
                if isinstance(node, ast.Name) and node.id == "rng":
                    raise AssertionError(f"{grade_id(cell)} uses the notebook's shared generator rng")
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                        and node.value.attr == "random" and node.attr not in ("default_rng", "Generator"):
                    raise AssertionError(f"{grade_id(cell)} uses NumPy's global generator (np.random.{node.attr})")
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "default_rng":
                    assert node.args, f"{grade_id(cell)}: an unseeded generator"


@pytest.mark.parametrize("set_name", SETS)
@pytest.mark.parametrize("version", ["source", "release"])
def test_figures_have_alt_text_and_folded_plotting_code(set_name, version):
    notebook = read(EXERCISES / version / set_name / f"{set_name}.ipynb")
    for cell in notebook.cells:
        if cell.cell_type == "code" and "ggplot(" in cell.source:
            mystnb = cell.metadata.get("mystnb", {})
            assert mystnb.get("figure", {}).get("caption") and mystnb["figure"].get("name", "").startswith("fig-ex")
            alt = mystnb.get("image", {}).get("alt", "")
            assert len(alt) > 80 and alt != mystnb["figure"]["caption"], "alt text that describes what the figure shows"
            assert "hide-input" in cell.metadata.get("tags", []), "plotting code that is not the lesson is folded"


@pytest.mark.parametrize("set_name", SETS)
def test_release_regenerated_from_source_equals_the_committed_one(course, set_name):
    """Nothing is ignored in the comparison: nbgrader's output is deterministic (its checksums
    are hashes of the cell sources), so every cell's type, id, source, metadata and outputs and
    the notebook's metadata must be identical."""
    course, _ = course
    generated_folder, committed_folder = course / "release" / set_name, EXERCISES / "release" / set_name
    def files(folder):
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert files(generated_folder) == files(committed_folder)
    generated, committed = read(generated_folder / f"{set_name}.ipynb"), read(release_notebook(set_name))
    assert generated.metadata == committed.metadata
    assert (generated.nbformat, generated.nbformat_minor) == (committed.nbformat, committed.nbformat_minor)
    assert len(generated.cells) == len(committed.cells), "regenerate the release: the number of cells differs"
    for new, old in zip(generated.cells, committed.cells):
        assert new == old, (f"cell {old.get('id')} of {set_name} differs from a fresh "
                            f"`nbgrader generate_assignment`; regenerate the release")


def test_grading_run_finishes_without_errors(graded):
    _, _, first, _ = graded
    assert first.returncode == 0, first.stderr[-5000:]


@pytest.mark.parametrize("set_name", SETS)
def test_solution_earns_every_automatic_point(gradebook, set_name):
    grades = code_grades(gradebook, set_name, "solution")
    assert grades and all(score == maximum for score, maximum in grades.values()), grades
    submission = gradebook.find_submission(set_name, "solution")
    assert submission.code_score == submission.max_code_score > 0
    # Written answers are never scored automatically; they wait for the grader.
    written = [g for g in gradebook.find_submission_notebook(set_name, set_name, "solution").grades
               if g.cell_type == "markdown"]
    assert written and all(g.auto_score is None and g.needs_manual_grade for g in written)


@pytest.mark.parametrize("set_name", SETS)
def test_untouched_release_earns_nothing(gradebook, set_name):
    notebook = gradebook.find_submission_notebook(set_name, set_name, "untouched")
    assert notebook.grades and all(grade.auto_score == 0 for grade in notebook.grades)
    assert gradebook.find_submission(set_name, "untouched").score == 0


@pytest.mark.parametrize("set_name", SETS)
def test_untouched_release_runs_up_to_the_first_task(graded, set_name):
    """The student version's bootstrap and setup cells run (as in JupyterLab, outside Colab)."""
    course = graded[0]
    notebook = read(course / "autograded" / "untouched" / set_name / f"{set_name}.ipynb")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code[:2]:
        assert cell.execution_count and not [o for o in cell.outputs if o.output_type == "error"], cell.source


def test_bootstrap_tool_covers_sources_and_releases(root):
    sys.path.insert(0, str(root / "tools"))
    try:
        import bootstrap_cell
    finally:
        sys.path.pop(0)
    defaults = {path.resolve() for pattern in bootstrap_cell.NOTEBOOK_GLOBS for path in root.glob(pattern)}
    for set_name in SETS:
        for path in (source_notebook(set_name), release_notebook(set_name)):
            assert path.resolve() in defaults and bootstrap_cell.is_current(path)
        assert bootstrap_cell.exercise_notebook(release_notebook(set_name)) == ("release", set_name)


@pytest.mark.parametrize("set_name", SETS)
def test_set_runs_alone_as_in_colab(colab_python, root, tmp_path, monkeypatch,  # noqa: F811
                                    set_name):
    """Every solved set, opened alone in (a stand-in for) Colab: the bootstrap installs the
    helper package (for set 9 it then downloads and verifies the data) and every cell runs
    without an error on Colab's package versions.

    The student versions are not run here a second time: each is `generate_assignment` of its
    source (test_release_regenerated_from_source_equals_the_committed_one), which changes only
    the solution regions, so the cells they run before a stub are cells of the source that this
    test runs; test_untouched_release_runs_up_to_the_first_task runs their bootstrap and setup
    cells in the autograded student version."""
    folder = tmp_path / "content"
    folder.mkdir()
    notebook = read(EXERCISES / "source" / set_name / f"{set_name}.ipynb")
    run_in_colab_stand_in(notebook, folder, colab_python, root, tmp_path, monkeypatch,
                          allow_errors=True)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].source.startswith("# Colab bootstrap")
    if set_name == SET_9:
        assert (tmp_path / "cache" / "covid_us_daily_cases.csv").is_file(), "the data were not downloaded"
        setup_output = "".join(o.get("text", "") for o in code[1].outputs)
        assert "921 days, from 2020-01-23 to 2022-07-31" in setup_output
    errors = [(cell.source[:80], o.ename) for cell in code for o in cell.outputs
              if o.output_type == "error"]
    assert errors == [], f"cells that fail on Colab's versions: {errors}"


@pytest.mark.parametrize(("set_name", "student"), sorted(EXPECTED_DEVIATIONS))
def test_broken_submission_earns_what_it_should(gradebook, set_name, student):
    expected = EXPECTED_DEVIATIONS[(set_name, student)]
    grades = code_grades(gradebook, set_name, student)
    for cell, (score, maximum) in grades.items():
        assert score == expected.get(cell, maximum), f"{student}: {cell} scored {score} of {maximum}"


def test_tampered_cells_are_restored_and_run(graded, gradebook):
    course = graded[0]
    notebook = read(course / "autograded" / "tampered" / SET_1 / f"{SET_1}.ipynb")
    cells = {grade_id(cell): cell for cell in notebook.cells if grade_id(cell)}
    deleted = BROKEN_SET_1["tampered"][1]
    assert all("was missing from the submission" in cells[name].source for name in deleted)
    assert all(cells[name].outputs for name in deleted if name.startswith("test-")), "restored tests run"
    assert cells["weighted-likelihood"].source.endswith("YOUR ANSWER HERE"), "answer put back empty"
    assert "BEGIN HIDDEN TESTS" in cells["test-gram-invertible-hidden"].source, "edited test replaced by the original"
    assert cells["test-normal-equation-visible"].metadata.nbgrader["points"] == 1, "points restored"
    assert gradebook.find_submission(SET_1, "tampered").max_code_score == sum(automatic_points(SET_1).values())


def test_endless_loop_is_stopped_by_the_config_timeout(graded):
    course, _, first, _ = graded
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert f"Timeout waiting for execute reply ({config.Execute.timeout}s)" in first.stderr
    notebook = read(course / "autograded" / "endless-loop" / SET_1 / f"{SET_1}.ipynb")
    cell = next(cell for cell in notebook.cells if grade_id(cell) == "line-through")
    # The interrupted cell shows the KeyboardInterrupt of the interruption and nbgrader's timeout error.
    assert "CellTimeoutError" in [output.get("ename") for output in cell.outputs if output.output_type == "error"]


def test_renamed_file_and_dead_kernel_are_reported_and_kept(graded, gradebook):
    _, _, _, second = graded
    assert second.returncode != 0
    for student in ("broken-renamed", "broken-kernel", "broken-deleted-solution"):
        assert f"error processing assignment '{SET_1}' for student '{student}'" in second.stderr
        submission = gradebook.find_submission(SET_1, student)          # kept, not lost
        assert all(grade.auto_score is None for grade in submission.notebooks[0].grades)
    assert "Kernel died" in second.stderr
    assert "Skipping unknown notebook" in second.stderr and "No notebooks found" in second.stderr
    # The first run's grades are untouched by the failed run.
    assert gradebook.find_submission(SET_1, "solution").code_score == sum(automatic_points(SET_1).values())


def test_every_submission_is_in_the_gradebook_and_the_export(graded, gradebook):
    course, environment, _, _ = graded
    submitted = {(path.parent.name, path.parent.parent.name)
                 for path in (course / "submitted").glob("*/*/*.ipynb")}
    recorded = {(submission.assignment.name, submission.student.id)
                for set_name in SETS for submission in gradebook.assignment_submissions(set_name)}
    assert recorded == submitted and len(recorded) == 2 * len(SETS) + len(BROKEN_SET_1) + 3

    process = nbgrader(course, environment, "export", f"--to={course / 'grades.csv'}")
    assert process.returncode == 0, process.stderr[-3000:]
    with open(course / "grades.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    exported = {(row["assignment"], row["student_id"]): float(row["raw_score"]) for row in rows}
    # One row for every student and every set; a set a student did not submit scores 0.
    students = {student for _, student in recorded}
    assert set(exported) == {(set_name, student) for set_name in SETS for student in students}
    for (set_name, student), score in exported.items():
        if (set_name, student) in recorded:
            assert score == pytest.approx(gradebook.find_submission(set_name, student).score)
        else:
            assert score == 0
    for student in ("wrong-answer", "endless-loop"):
        assert exported[(SET_1, student)] == expected_code_score(SET_1, BROKEN_SET_1[student][2])


def test_feedback_is_generated(graded):
    course, environment, _, _ = graded
    process = nbgrader(course, environment, "generate_feedback", SET_1, "--student=wrong-answer")
    assert process.returncode == 0, process.stderr[-3000:]
    html = (course / "feedback" / "wrong-answer" / SET_1 / f"{SET_1}.html").read_text()
    total = read(source_notebook(SET_1)).cells[0].source
    maximum = float(re.search(r"(\d+) in all", total).group(1))
    score = expected_code_score(SET_1, BROKEN_SET_1["wrong-answer"][2])
    assert "test-line-through-hidden" in html and f"Score: {score} / {maximum}" in html
