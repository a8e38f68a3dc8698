"""The bibliography and the citations agree, and the entries are well formed.

Every key cited anywhere in the book (``{cite}``, ``{cite:t}``, ``{cite:p}``, ... in the
preface, the chapters, the exercise sets and the help pages) is in ``references.bib``; every
entry of ``references.bib`` is cited somewhere or marked ``keywords = {further-reading}``,
which puts it under "Further reading" on the References page (``references.md``). An entry
that is neither would appear nowhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file

CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
KEY_STYLE = re.compile(r"^[a-z][a-z0-9]*\d{4}[a-z][a-z0-9]*$")  # firstauthorYEARword (w3c2023wcag22)
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
FURTHER_READING = "further-reading"


def book_sources(root: Path) -> list[Path]:
    """The source file of every page of the table of contents."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    sources = []
    for name in files:
        for suffix in (".md", ".ipynb"):
            if (root / f"{name}{suffix}").is_file():
                sources.append(root / f"{name}{suffix}")
    return sources


def prose(path: Path) -> str:
    """The text a page is written in: a Markdown file, or a notebook's Markdown cells."""
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def cited_keys(texts: dict[str, str]) -> dict[str, set[str]]:
    """{key: names of the sources that cite it} for the citation roles in some texts."""
    keys: dict[str, set[str]] = {}
    for name, text in texts.items():
        for group in CITE.findall(text):
            for key in group.split(","):
                keys.setdefault(key.strip(), set()).add(name)
    return keys


@pytest.fixture(scope="module")
def bibliography(root):
    return parse_file(str(root / "references.bib"), bib_format="bibtex").entries


@pytest.fixture(scope="module")
def citations(root):
    return cited_keys({str(path.relative_to(root)): prose(path) for path in book_sources(root)})


def test_every_cited_key_is_in_the_bibliography(bibliography, citations):
    missing = {key: sorted(where) for key, where in citations.items() if key not in bibliography}
    assert missing == {}, f"cited but not in references.bib: {missing}"


def test_every_entry_is_cited_or_listed_as_further_reading(bibliography, citations):
    listed = {key for key, entry in bibliography.items()
              if FURTHER_READING in entry.fields.get("keywords", "")}
    nowhere = sorted(set(bibliography) - set(citations) - listed)
    print(f"\n[references] {len(bibliography)} entries: {len(set(citations) & set(bibliography))} "
          f"cited, {len(listed - set(citations))} further reading only, {len(nowhere)} neither")
    assert nowhere == [], (
        f"{len(nowhere)} entries of references.bib are neither cited nor marked "
        f"keywords = {{{FURTHER_READING}}}, so the References page leaves them out: {nowhere}")


def test_entries_are_well_formed(bibliography):
    problems = []
    for key, entry in bibliography.items():
        if not KEY_STYLE.match(key):
            problems.append(f"{key}: key is not firstauthorYEARword")
        if "title" not in entry.fields:
            problems.append(f"{key}: no title")
        if not (entry.persons.get("author") or entry.persons.get("editor")):
            problems.append(f"{key}: no author")
        year = entry.fields.get("year")
        if year is None and "no date" not in entry.fields.get("note", ""):
            problems.append(f"{key}: no year (or a note that the source shows no date)")
        if year is not None and year not in key:
            problems.append(f"{key}: the key's year is not the entry's year {year}")
        if "doi" in entry.fields and not DOI.match(entry.fields["doi"]):
            problems.append(f"{key}: malformed DOI {entry.fields['doi']!r}")
        needed = {"article": ("journal",), "inproceedings": ("booktitle",),
                  "incollection": ("booktitle", "publisher"), "book": ("publisher",)}
        problems += [f"{key}: {entry.type} without {field}"
                     for field in needed.get(entry.type, ()) if field not in entry.fields]
    assert problems == []


def test_citation_scan_finds_every_role_form():
    texts = {"a.md": "As {cite:t}`hornik1991approximation` showed {cite:p}`cybenko1989x, b2000y`;"
                     " see {cite}`c2001z` and `{cite}` in code.",
             "b.md": "{cite:ps}`c2001z`"}
    assert cited_keys(texts) == {"hornik1991approximation": {"a.md"}, "cybenko1989x": {"a.md"},
                                 "b2000y": {"a.md"}, "c2001z": {"a.md", "b.md"}}
