"""The course's repository and release are named in one place, and everything agrees with it."""

import subprocess
import sys

import yaml

from lr2dnn import release


def test_config_repository_is_the_release_repository(root):
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["repository"]["url"] == release.REPOSITORY_URL


def test_raw_file_url():
    url = release.raw_file_url("data/x.csv", ref="main")
    owner_and_name = release.REPOSITORY_URL.removeprefix("https://github.com/")
    assert url == f"https://raw.githubusercontent.com/{owner_and_name}/main/data/x.csv"


def test_every_chapter_starts_with_the_current_bootstrap(root):
    process = subprocess.run([sys.executable, str(root / "tools" / "bootstrap_cell.py"), "--check"],
                             capture_output=True, text=True)
    assert process.returncode == 0, process.stderr


def test_bootstrap_installs_the_release_only_in_colab(root):
    sys.path.insert(0, str(root / "tools"))
    try:
        import bootstrap_cell
    finally:
        sys.path.pop(0)
    source = bootstrap_cell.cell_source()
    assert release.INSTALL_SOURCE in source
    assert 'if "google.colab" in sys.modules:' in source
    assert source.count("%pip install") == 1


def test_check_reports_a_stale_notebook(root, tmp_path):
    import nbformat
    stale = tmp_path / "stale.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("# Colab bootstrap: old\n%pip install old")]
    nbformat.write(notebook, stale)
    process = subprocess.run([sys.executable, str(root / "tools" / "bootstrap_cell.py"), "--check",
                              str(stale)], capture_output=True, text=True)
    assert process.returncode == 1 and "not the current Colab bootstrap" in process.stderr
