"""Finding, verifying and loading the course's data files.

In a checkout of the course repository the files are read from its ``data/`` folder. Where
there is no checkout (a notebook opened alone, e.g. in Colab) a missing file is downloaded
from the repository at the course's release into a cache folder. Either way the file's
sha256 is checked against the value recorded here and in ``data/PROVENANCE.md``, so a
chapter never silently computes on a damaged or different file.

Introduced in the preface; the COVID-19 series is used in chapter 9.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from .release import raw_file_url

DATA_FILES: dict[str, str] = {
    "covid_us_daily_cases.csv": "73e2257748236dcc4269bbc6fd043099603b3c0c29dedc78987acebcf159a9e3",
}
"""The course's data files and their sha256 checksums."""

COVID_WINDOW: tuple[str, str] = ("2020-01-23", "2022-07-31")
"""First and last date of the case study's window (Day 0 and Day 920)."""

DATA_DIR_VARIABLE = "LR2DNN_DATA_DIR"
"""Environment variable that, when set, names the folder to read data files from."""

CACHE_DIR_VARIABLE = "LR2DNN_CACHE_DIR"
"""Environment variable that, when set, names the folder downloads are kept in."""

DATA_URL_VARIABLE = "LR2DNN_DATA_URL"
"""Environment variable that, when set, is the address of a folder to download data files
from instead of the repository (e.g. a mirror, or ``file:///path/to/checkout/data`` in tests)."""


class DataFileError(OSError):
    """A course data file is missing, damaged, or cannot be downloaded."""


def sha256_of(path: str | os.PathLike) -> str:
    """Return the hexadecimal sha256 checksum of a file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to hash.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected_checksum(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name (str), got {type(name).__name__}")
    if name not in DATA_FILES:
        known = ", ".join(sorted(DATA_FILES))
        raise ValueError(f"name must be one of the course's data files ({known}), got {name!r}")
    return DATA_FILES[name]


def _checkout_candidates(name: str) -> list[Path]:
    """Places where ``data/<name>`` would be in a checkout of the repository."""
    candidates = []
    if os.environ.get(DATA_DIR_VARIABLE):
        candidates.append(Path(os.environ[DATA_DIR_VARIABLE]) / name)
    here = Path.cwd().resolve()
    candidates += [folder / "data" / name for folder in (here, *here.parents)]
    # An editable install keeps this module at <checkout>/lib/lr2dnn/data.py.
    candidates.append(Path(__file__).resolve().parents[2] / "data" / name)
    return candidates


def cache_dir() -> Path:
    """Return the folder that downloaded data files are kept in.

    Returns
    -------
    pathlib.Path
        ``$LR2DNN_CACHE_DIR`` if set, otherwise ``~/.cache/lr2dnn``.
    """
    if os.environ.get(CACHE_DIR_VARIABLE):
        return Path(os.environ[CACHE_DIR_VARIABLE])
    return Path.home() / ".cache" / "lr2dnn"


def verify(path: str | os.PathLike, name: str | None = None) -> Path:
    """Check a data file's sha256 against the recorded checksum.

    Parameters
    ----------
    path : str or os.PathLike
        The file to check.
    name : str, optional
        The data file it should be; by default the file name of ``path``.

    Returns
    -------
    pathlib.Path
        ``path``, once verified.

    Raises
    ------
    DataFileError
        If the file does not exist or its checksum differs. The message names the file,
        the expected checksum and how to restore the file.
    """
    path = Path(path)
    name = path.name if name is None else name
    expected = _expected_checksum(name)
    if not path.is_file():
        raise DataFileError(
            f"data file {name} is missing: no file at {path} (expected sha256 {expected}). "
            f"Fix: restore it with `git checkout -- data/{name}` in a checkout of the course, "
            f"or download it from {source_url(name)}."
        )
    actual = sha256_of(path)
    if actual != expected:
        raise DataFileError(
            f"data file {name} at {path} is damaged or not the course's version: "
            f"its sha256 is {actual}, expected {expected}. "
            f"Fix: restore it with `git checkout -- data/{name}` in a checkout of the course, "
            f"or delete it and call data_path({name!r}) again to download a fresh copy."
        )
    return path


def source_url(name: str) -> str:
    """Return the address a data file is downloaded from.

    Parameters
    ----------
    name : str
        The data file, one of ``DATA_FILES``.

    Returns
    -------
    str
        ``$LR2DNN_DATA_URL/<name>`` if that variable is set, otherwise the file in the
        repository at the course's release.
    """
    _expected_checksum(name)
    base = os.environ.get(DATA_URL_VARIABLE)
    if base:
        return f"{base.rstrip('/')}/{name}"
    return raw_file_url("data/" + name)


def download(name: str, destination: str | os.PathLike, url: str | None = None) -> Path:
    """Download a course data file and verify it before keeping it.

    The bytes are written to a temporary file next to ``destination`` and moved into place
    only once their checksum is right, so a failed or damaged download leaves nothing behind.

    Parameters
    ----------
    name : str
        The data file, one of ``DATA_FILES``.
    destination : str or os.PathLike
        Where to keep the file.
    url : str, optional
        Where to download from; by default :func:`source_url`.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    DataFileError
        If the download fails or the bytes have the wrong checksum.
    """
    expected = _expected_checksum(name)
    url = source_url(name) if url is None else url
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise DataFileError(
            f"data file {name} could not be downloaded from {url} ({error}). "
            f"Fix: check the internet connection, or download the file by hand and save it as "
            f"{destination} (its sha256 must be {expected})."
        ) from error
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise DataFileError(
            f"data file {name} downloaded from {url} has sha256 {actual}, expected {expected}; "
            f"it was not saved. Fix: try again later, or download the file by hand and save it "
            f"as {destination}."
        )
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as temporary:
        temporary.write(payload)
    os.replace(temporary.name, destination)
    return destination


def data_path(name: str) -> Path:
    """Return the verified path of a course data file, downloading it if needed.

    The file is looked for in ``$LR2DNN_DATA_DIR`` (if set), in ``data/`` of the current
    folder and its parents, and in ``data/`` of the checkout the package was installed from.
    The first one found is verified and returned; a damaged file is an error, never skipped.
    If none is found, the file is downloaded into :func:`cache_dir`.

    Parameters
    ----------
    name : str
        The data file, e.g. ``"covid_us_daily_cases.csv"``.

    Returns
    -------
    pathlib.Path
        The path of a file whose checksum has been verified.

    Raises
    ------
    DataFileError
        If the file found is damaged, or it is nowhere and cannot be downloaded.
    """
    _expected_checksum(name)
    for candidate in _checkout_candidates(name):
        if candidate.is_file():
            return verify(candidate, name)
    cached = cache_dir() / name
    if cached.is_file():
        return verify(cached, name)
    return download(name, cached)


def load_covid_cases(window: bool = True) -> pd.DataFrame:
    """Load the daily new COVID-19 cases in the United States (chapter 9).

    Parameters
    ----------
    window : bool, optional
        If true (default), keep only the case study's window, 2020-01-23 to 2022-07-31,
        and add a column ``day`` numbering its days from 0 to 920. If false, return every
        row of the file (2020-01-22 to 2023-03-09, two of them empty).

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime64), ``new_cases`` (Int64, integers with missing values
        allowed) and, with ``window``, ``day`` (int).

    Raises
    ------
    DataFileError
        If the file is missing or damaged.
    """
    path = data_path("covid_us_daily_cases.csv")
    frame = pd.read_csv(path, parse_dates=["date"], dtype={"new_cases": "Int64"})
    if not window:
        return frame
    start, end = (pd.Timestamp(day) for day in COVID_WINDOW)
    frame = frame[(frame["date"] >= start) & (frame["date"] <= end)].reset_index(drop=True)
    frame["new_cases"] = frame["new_cases"].astype("int64")
    frame["day"] = range(len(frame))
    return frame
