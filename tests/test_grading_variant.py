"""``tools/exercise_variant.py`` makes term variants of the exercise sets from one secret.

A variant must differ from the public sets (data, seeds and hidden inputs), be reproducible from
the same secret and differ for another one, and its solutions must still earn full marks: the
variant of every set is generated and its solution autograded with the real ``nbgrader`` (a job
of the grading pool of ``test_grading.py``). The command's own check of a variant (it executes the
solution notebooks and derives a failing set again) is tested on one set.
"""

from __future__ import annotations

import importlib.util

import nbformat
import pytest
from nbgrader.api import Gradebook

from test_grading import grading_pool  # noqa: F401 (the shared pool of grading jobs, a fixture)
from test_grading import (COURSE_ID, ONE_THREAD, ROOT, SET_1, SETS, code_grades, grade_id, make_course, nbgrader,
                          nbgrader_environment, read, release_notebook, source_notebook, submit)

SECRET = b"a passphrase for the tests only, not for a real term"


def load_tool():
    spec = importlib.util.spec_from_file_location("exercise_variant", ROOT / "tools" / "exercise_variant.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def variant_job(home):
    """A variant of every set (without the command's own check), its student versions generated
    and its solutions and untouched student versions autograded."""
    output = home / "private-exercises"
    report = load_tool().make_variant(SECRET, output, check=False)
    course = make_course(home, source=output / "source")
    environment = nbgrader_environment(home)
    process = nbgrader(course, environment, "generate_assignment", "*", "--force")
    assert process.returncode == 0, process.stderr[-3000:]
    for set_name in SETS:
        submit(course, "solution", set_name, variant_notebook(output, set_name))
    submit(course, "untouched", SET_1, nbformat.read(course / "release" / SET_1 / f"{SET_1}.ipynb", as_version=4))
    return output, report, course, nbgrader(course, environment, "autograde", "*", ONE_THREAD)


def variant_notebook(output, set_name):
    return nbformat.read(output / "source" / set_name / f"{set_name}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def tool():
    return load_tool()


@pytest.fixture(scope="module")
def variant(grading_pool):
    return grading_pool["variant"]


@pytest.fixture(scope="module")
def variant_gradebook(variant):
    course = variant[2]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as book:
        yield book


def test_derived_seeds_depend_on_secret_set_seed_and_attempt(tool):
    seed = tool.derive_seed(SECRET, SET_1, 42)
    assert seed == tool.derive_seed(SECRET, SET_1, 42) and 1 <= seed < 2**31
    others = {tool.derive_seed(b"another secret of the same length!!", SET_1, 42), tool.derive_seed(SECRET, SETS[1], 42),
              tool.derive_seed(SECRET, SET_1, 43), tool.derive_seed(SECRET, SET_1, 42, attempt=1)}
    assert seed not in others and len(others) == 4
    assert tool.vary_source("rng = np.random.default_rng(7)  # seven\nX = f(7, random_state=3)\n", lambda old: old + 100) == (
        "rng = np.random.default_rng(107)  # seven\nX = f(7, random_state=103)\n", [(7, 107), (3, 103)])
    assert tool.vary_source("%pip install x\nnp.random.seed(1)", lambda old: 2) == ("%pip install x\nnp.random.seed(1)", [])


@pytest.mark.parametrize("set_name", SETS)
def test_variant_differs_from_the_public_set(variant, set_name):
    output, report, _, _ = variant
    public, private = read(source_notebook(set_name)), variant_notebook(output, set_name)
    assert [grade_id(c) for c in public.cells] == [grade_id(c) for c in private.cells], "the same cells"
    changed = [grade_id(a) or a.id for a, b in zip(public.cells, private.cells) if a.source != b.source]
    hidden = [name for name in changed if name.startswith("test-") and "BEGIN HIDDEN TESTS" in
              next(c.source for c in public.cells if grade_id(c) == name)]
    assert report[set_name]["seeds"] and hidden, f"{set_name}: no seed of the hidden tests changed"
    assert all(old != new for old, new in report[set_name]["seeds"])
    assert "setup" in changed, f"{set_name}: the setup cell's seeds (the students' data) did not change"
    assert all(a.cell_type == "code" for a, b in zip(public.cells, private.cells) if a.source != b.source), \
        "only code cells change"


def test_variant_grading_finishes_without_errors(variant):
    assert variant[3].returncode == 0, variant[3].stderr[-5000:]


@pytest.mark.parametrize("set_name", SETS)
def test_variant_solutions_earn_full_marks(variant_gradebook, set_name):
    grades = code_grades(variant_gradebook, set_name, "solution")
    assert grades and all(score == maximum for score, maximum in grades.values()), grades


def test_variant_student_version_earns_nothing(variant_gradebook, variant):
    assert all(score == 0 for score, _ in code_grades(variant_gradebook, SET_1, "untouched").values())
    course = variant[2]
    released = nbformat.read(course / "release" / SET_1 / f"{SET_1}.ipynb", as_version=4)
    public = read(release_notebook(SET_1))
    assert [c.source for c in released.cells] != [c.source for c in public.cells], "the variant's student version differs"


def test_variant_is_reproducible_and_secret_specific(tool, variant, tmp_path):
    output, report, _, _ = variant
    again = tool.make_variant(SECRET, tmp_path / "again", check=False)
    for set_name in SETS:
        assert variant_notebook(output, set_name) == variant_notebook(tmp_path / "again", set_name), set_name
    assert again == report
    other = tool.make_variant(b"another passphrase for the tests", tmp_path / "other", check=False)
    assert all(other[name]["seeds"] != again[name]["seeds"] for name in SETS), "another secret must give another variant"
    notes = (output / "VARIANT.md").read_text() + (output / "variant.json").read_text()
    assert tool.fingerprint(SECRET) in notes and SECRET.decode() not in notes


def test_check_executes_the_solution_and_derives_a_failing_set_again(tool, tmp_path, monkeypatch):
    """The check of the command runs a variant's solution notebook and lists its failing test
    cells; a set that fails is derived again with the next attempt."""
    output = tmp_path / "checked"
    tool.make_variant(SECRET, output, [SET_1], check=False)
    path = output / "source" / SET_1 / f"{SET_1}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if grade_id(cell) == "line-through":
            cell.source = cell.source.replace("b = y1 - w * x1", "b = y2 - w * x1")
    nbformat.write(notebook, path)
    assert tool.check_solution(str(path)) == ["test-line-through-visible", "test-line-through-hidden"], \
        "the check must list exactly the test cells that fail (all others pass)"

    calls = []
    def fake_check(path):
        calls.append(path)
        return ["test-losses-visible"] if len(calls) == 1 else []
    monkeypatch.setattr(tool, "check_solution", fake_check)
    monkeypatch.setattr(tool.concurrent.futures, "ProcessPoolExecutor", tool.concurrent.futures.ThreadPoolExecutor)
    report = tool.make_variant(SECRET, tmp_path / "retried", [SET_1], check=True, log=lambda message: None)
    assert len(calls) == 2 and report[SET_1]["attempt"] == 1 and report[SET_1]["failed"] == []
    assert report[SET_1]["seeds"] != tool.make_variant(SECRET, tmp_path / "first", [SET_1], check=False)[SET_1]["seeds"]


def test_command_line_refuses_unsafe_use(tool, tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="outside the repository"):
        tool.main(["--output", str(ROOT / "exercises" / "source" / "private"), "--no-check"])
    monkeypatch.setenv("SHORT_SECRET", "short")
    with pytest.raises(SystemExit, match="at least 12 characters"):
        tool.main(["--passphrase-env", "SHORT_SECRET", "--output", str(tmp_path / "out"), "--no-check"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        tool.main(["--output", str(tmp_path / "full"), "--no-check"])
    monkeypatch.setenv("GOOD_SECRET", "a long enough passphrase")
    assert tool.main(["--passphrase-env", "GOOD_SECRET", "--output", str(tmp_path / "ok"), "--sets", SET_1, "--no-check"]) == 0
    assert (tmp_path / "ok" / "source" / SET_1 / f"{SET_1}.ipynb").is_file() and (tmp_path / "ok" / "nbgrader_config.py").is_file()
