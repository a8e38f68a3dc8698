"""Where the course lives: the one place that names its repository and release.

The Colab bootstrap cell at the top of every notebook installs the helper package from
``INSTALL_SOURCE``, and the data loader downloads missing data files from
``raw_file_url``. Change the repository or the release tag here, then run
``python tools/bootstrap_cell.py --write`` to refresh the bootstrap cells.
"""

REPOSITORY_URL: str = "https://github.com/lr2dnn/lr2dnn-course"
"""The course's GitHub repository."""

RELEASE_TAG: str = "v0.1.0"
"""The git tag of the release that notebooks opened in Colab install from."""

INSTALL_SOURCE: str = f"git+{REPOSITORY_URL}@{RELEASE_TAG}"
"""What ``pip install`` is given in Colab to install this package."""


def raw_file_url(path: str, ref: str = RELEASE_TAG) -> str:
    """Return the download address of a file of the repository at a git ref.

    Parameters
    ----------
    path : str
        The file's path inside the repository, e.g. ``"data/covid_us_daily_cases.csv"``.
    ref : str, optional
        A tag, branch or commit; the course's release tag by default.

    Returns
    -------
    str
        An address that serves the raw bytes of the file.
    """
    owner_and_name = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{owner_and_name}/{ref}/{path.lstrip('/')}"
