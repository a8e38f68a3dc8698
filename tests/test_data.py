"""Tests of lr2dnn.data: checksums, finding, downloading and loading the data files."""

import hashlib
import re
import shutil

import pandas as pd
import pytest

from lr2dnn import data
from lr2dnn.data import DATA_FILES, DataFileError

NAME = "covid_us_daily_cases.csv"


def test_committed_file_matches_recorded_checksum(root):
    assert hashlib.sha256((root / "data" / NAME).read_bytes()).hexdigest() == DATA_FILES[NAME]


def test_checksum_recorded_in_provenance_matches(root):
    provenance = (root / "data" / "PROVENANCE.md").read_text()
    assert re.search(r"sha256: `([0-9a-f]{64})`", provenance).group(1) == DATA_FILES[NAME]


def test_sha256_of_known_bytes(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert data.sha256_of(path) == expected


def test_data_path_finds_the_checkout_file(root):
    assert data.data_path(NAME) == root / "data" / NAME


def test_data_path_from_another_folder_uses_the_package_checkout(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.data_path(NAME) == root / "data" / NAME


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="name must be one of the course's data files"):
        data.data_path("nope.csv")
    with pytest.raises(TypeError, match="name must be a file name"):
        data.data_path(42)


def test_missing_file_names_file_checksum_and_fix(tmp_path):
    with pytest.raises(DataFileError) as info:
        data.verify(tmp_path / NAME)
    message = str(info.value)
    assert NAME in message and DATA_FILES[NAME] in message
    assert "git checkout -- data/" in message


def test_corrupted_file_is_an_error_and_is_kept(tmp_path, root, monkeypatch):
    damaged = tmp_path / "data" / NAME
    damaged.parent.mkdir()
    text = (root / "data" / NAME).read_text().replace("13221", "13222")
    damaged.write_text(text)
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, str(damaged.parent))
    with pytest.raises(DataFileError) as info:
        data.data_path(NAME)
    message = str(info.value)
    assert "damaged" in message and DATA_FILES[NAME] in message and str(damaged) in message
    assert damaged.read_text() == text, "a damaged file must be left for the user to inspect"


def _isolate_from_checkout(tmp_path, monkeypatch, source_folder):
    """Make data_path see no checkout, with downloads served from source_folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(data, "_checkout_candidates", lambda name: [tmp_path / "data" / name])
    monkeypatch.setenv(data.CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setenv(data.DATA_URL_VARIABLE, source_folder.as_uri())


def test_download_when_no_checkout(tmp_path, root, monkeypatch):
    _isolate_from_checkout(tmp_path, monkeypatch, root / "data")
    path = data.data_path(NAME)
    assert path == tmp_path / "cache" / NAME
    assert data.sha256_of(path) == DATA_FILES[NAME]
    # A second call uses the cached copy.
    assert data.data_path(NAME) == path


def test_download_with_wrong_bytes_saves_nothing(tmp_path, root, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / NAME).write_text("date,new_cases\n2020-01-23,1\n")
    _isolate_from_checkout(tmp_path, monkeypatch, mirror)
    with pytest.raises(DataFileError, match="it was not saved") as info:
        data.data_path(NAME)
    assert DATA_FILES[NAME] in str(info.value)
    assert not (tmp_path / "cache" / NAME).exists()
    assert list((tmp_path / "cache").iterdir()) == [], "no temporary file may be left behind"


def test_failed_download_says_how_to_fix(tmp_path, monkeypatch):
    _isolate_from_checkout(tmp_path, monkeypatch, tmp_path / "nowhere")
    with pytest.raises(DataFileError, match="could not be downloaded") as info:
        data.data_path(NAME)
    assert DATA_FILES[NAME] in str(info.value)


def test_source_url_defaults_to_the_release(monkeypatch):
    monkeypatch.delenv(data.DATA_URL_VARIABLE, raising=False)
    assert data.source_url(NAME).startswith("https://raw.githubusercontent.com/")
    assert data.source_url(NAME).endswith("/data/" + NAME)


def test_load_covid_cases_window():
    frame = data.load_covid_cases()
    assert len(frame) == 921
    assert list(frame.columns) == ["date", "new_cases", "day"]
    assert frame["date"].iloc[0] == pd.Timestamp("2020-01-23")
    assert frame["date"].iloc[-1] == pd.Timestamp("2022-07-31")
    assert frame["day"].tolist() == list(range(921))
    assert (frame["new_cases"] >= 0).all()
    # PROVENANCE.md: the window sums to 91,345,424 cases; 2022-01-10 is the maximum.
    assert frame["new_cases"].sum() == 91_345_424
    assert frame.loc[frame["new_cases"].idxmax(), "date"] == pd.Timestamp("2022-01-10")


def test_load_covid_cases_whole_file():
    frame = data.load_covid_cases(window=False)
    assert len(frame) == 1143
    assert frame["new_cases"].isna().sum() == 2


def test_load_covid_cases_refuses_a_damaged_copy(tmp_path, root, monkeypatch):
    shutil.copy(root / "data" / NAME, tmp_path / NAME)
    with open(tmp_path / NAME, "a") as stream:
        stream.write("2023-03-10,1\n")
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(DataFileError, match="damaged"):
        data.load_covid_cases()
