"""The licences and the citation file agree, and CITATION.cff is valid CFF 1.2.0.

CITATION.cff is checked against the JSON schema of the Citation File Format 1.2.0, kept in
``tests/data/citation-file-format-1.2.0.schema.json``: the schema published by the Citation
File Format project (its ``$id`` is https://citation-file-format.github.io/1.2.0/schema.json;
CC BY 4.0), copied unchanged from the ``cffconvert`` 2.0.0 package. (``cffconvert --validate``
itself needs ``jsonschema<4``, which the course environment cannot have next to Jupyter.)
"""

from __future__ import annotations

import json
import re
import tomllib

import jsonschema
import pytest
import yaml


@pytest.fixture(scope="module")
def cff_validator(root):
    schema = json.loads((root / "tests" / "data" / "citation-file-format-1.2.0.schema.json")
                        .read_text())
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def cff_errors(validator, text: str) -> list[str]:
    """The schema's complaints about a CITATION.cff text (empty: valid)."""
    return [f"{'/'.join(map(str, error.path)) or '(top)'}: {error.message}"
            for error in validator.iter_errors(yaml.safe_load(text))]


def test_citation_file_is_valid_cff_1_2_0(root, cff_validator):
    assert cff_errors(cff_validator, (root / "CITATION.cff").read_text()) == []


def test_citation_check_can_fail(root, cff_validator):
    text = (root / "CITATION.cff").read_text()
    assert cff_errors(cff_validator, text.replace("cff-version: 1.2.0", "cff-version: 1.1"))
    assert cff_errors(cff_validator, text.replace("  - CC-BY-4.0\n", "  - CC-BY-4\n"))
    no_authors = re.sub(r"^authors:\n(  - .*\n)+", "", text, flags=re.MULTILINE)
    assert any("authors" in error for error in cff_errors(cff_validator, no_authors))


def test_licences_are_stated_the_same_everywhere(root):
    """LICENSE names both licences; the legal texts are there; the package says MIT; the
    citation file says both; the README and the book's footer state the split."""
    licence = (root / "LICENSE").read_text()
    assert "CC BY 4.0" in licence and "MIT License" in licence
    assert "Attribution 4.0 International Public License" in (root / "LICENSE-TEXT").read_text()
    assert (root / "LICENSE-CODE").read_text().startswith("MIT License")
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert {"LICENSE", "LICENSE-CODE"} <= set(project["license-files"])
    citation = yaml.safe_load((root / "CITATION.cff").read_text())
    assert citation["license"] == ["CC-BY-4.0", "MIT"]
    assert citation["version"] == project["version"]
    readme = (root / "README.md").read_text()
    assert "CC BY 4.0" in readme and "MIT" in readme and "LICENSE" in readme
    footer = yaml.safe_load((root / "_config.yml").read_text())["html"]["extra_footer"]
    assert "creativecommons.org/licenses/by/4.0" in footer and "MIT" in footer


def test_footer_is_in_every_page(built_book):
    """The licence footer is on every page of the built book."""
    _, html = built_book
    pages = [page for page in html.rglob("*.html") if "_static" not in page.parts
             and 'http-equiv="Refresh"' not in page.read_text()]  # index.html only redirects
    missing = [str(page.relative_to(html)) for page in pages
               if "creativecommons.org/licenses/by/4.0/" not in page.read_text()]
    assert pages and missing == []
