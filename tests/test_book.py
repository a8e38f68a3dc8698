"""The book builds with no warning, and its launch buttons point at real files."""

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml

from lr2dnn.release import REPOSITORY_URL


def test_book_builds_without_warnings(built_book):
    process, html = built_book
    log = process.stdout + process.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert process.returncode == 0, log[-3000:]
    assert warnings == []
    assert (html / "intro.html").is_file()


def chapter_pages(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [f for f in files if (root / f"{f}.ipynb").is_file()]


def test_every_chapter_page_is_built_with_its_figures(built_book, root):
    _, html = built_book
    pages = [page for page in chapter_pages(root) if page.startswith("chapters/")]
    assert pages, "the table of contents lists no chapter notebook"
    for page in pages:
        text = (html / f"{page}.html").read_text()
        images = re.findall(r'<img [^>]*src="([^"]+)"', text)
        figures = [source for source in images if "_images/" in source]  # not the button logos
        assert len(figures) >= 2, f"{page} has fewer than two figures"
        assert len(re.findall(r'<figure[^>]*id="fig-ch', text)) >= 2, f"{page}: no named figures"
        for source in images:
            assert (html / page).parent.joinpath(source).resolve().is_file(), source


def launch_targets(html: Path) -> list[tuple[str, str]]:
    """(page, repository path) for every launch, repository and source link in the HTML."""
    owner_and_name = REPOSITORY_URL.removeprefix("https://github.com/")
    targets = []
    for page in html.rglob("*.html"):
        for url in re.findall(r'href="([^"]+)"', page.read_text()):
            url = url.replace("&amp;", "&")
            parsed = urlparse(url)
            if parsed.netloc == "colab.research.google.com":
                prefix = f"/github/{owner_and_name}/blob/main/"
                assert parsed.path.startswith(prefix), url
                targets.append((page.name, unquote(parsed.path.removeprefix(prefix))))
            elif parsed.netloc == "mybinder.org":
                assert parsed.path == f"/v2/gh/{owner_and_name}/main", url
                urlpath = parse_qs(parsed.query)["urlpath"][0]
                targets.append((page.name, re.sub(r"^(lab/tree|tree)/", "", urlpath)))
            elif url.startswith(REPOSITORY_URL + "/blob/"):
                targets.append((page.name, url.removeprefix(REPOSITORY_URL + "/blob/main/")))
    return targets


def test_launch_buttons_name_files_in_the_repository(built_book, root):
    _, html = built_book
    targets = launch_targets(html)
    for page in chapter_pages(root):
        name = Path(page).name + ".html"
        kinds = [path for page_name, path in targets if page_name == name]
        assert f"{page}.ipynb" in kinds, f"{name} has no launch button for its notebook"
        assert len(kinds) >= 2, f"{name} lacks a Colab or Binder button"
    missing = [(page, path) for page, path in targets if not (root / path).is_file()]
    assert missing == []


def test_launch_link_check_can_fail(tmp_path):
    page = tmp_path / "x.html"
    page.write_text(f'<a href="https://colab.research.google.com/github/'
                    f'{REPOSITORY_URL.removeprefix("https://github.com/")}/blob/main/nope.ipynb">')
    assert launch_targets(tmp_path) == [("x.html", "nope.ipynb")]
    with pytest.raises(AssertionError):
        page.write_text('<a href="https://colab.research.google.com/github/someone/else/blob/main/x.ipynb">')
        launch_targets(tmp_path)


def local_links(page: Path) -> list[str]:
    """Every href and src of a page that points inside the book (no scheme, not mailto)."""
    found = re.findall(r'(?:href|src)="([^"]+)"', page.read_text())
    return [link.replace("&amp;", "&") for link in found
            if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link) and not link.startswith("//")]


def broken_links(html: Path) -> list[tuple[str, str]]:
    """(page, link) for every internal link whose file or anchor does not exist."""
    broken, ids = [], {}
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.relative_to(html).parts:
            continue  # theme templates, not pages
        for link in local_links(page):
            path, _, fragment = link.partition("#")
            path = path.split("?")[0]
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append((str(page.relative_to(html)), link))
            elif fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\sid="([^"]+)"', target.read_text()))
                if unquote(fragment) not in ids[target]:
                    broken.append((str(page.relative_to(html)), link))
    return broken


MADE_AFTER_THE_BUILD = {"lr2dnn-course.pdf"}
"""Files the HTML build links to that a later step puts there: the PDF of the book, which
``tools/book_pdf.py`` (``make book``, ``make pdf``) copies into the HTML folder;
``tests/test_pdf.py`` checks that the preface's link to it then works."""


def test_no_broken_internal_link_or_image(built_book):
    _, html = built_book
    assert [(page, link) for page, link in broken_links(html)
            if Path(link).name not in MADE_AFTER_THE_BUILD] == []


def test_link_check_can_fail(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"></p><a href="a.html#here"></a>'
                                     '<a href="b.html"></a><img src="x.png"><a href="a.html#gone"></a>')
    assert broken_links(tmp_path) == [("a.html", "b.html"), ("a.html", "x.png"),
                                      ("a.html", "a.html#gone")]


def test_book_loads_nothing_from_the_internet(built_book):
    _, html = built_book
    for page in html.rglob("*.html"):
        resources = re.findall(r'<(?:script|link|img|iframe)\b[^>]*?(?:src|href)="((?:https?:)?//[^"]+)"',
                               page.read_text())
        assert resources == [], f"{page.name} loads {resources}"
    mathjax = html / "_static" / "mathjax" / "tex-svg-full.js"
    assert mathjax.stat().st_size > 1_000_000, "MathJax must be served with the book"


def test_status_page_lists_every_chapter(root):
    """status.md is written by the benchmark; it must cover the chapters that exist now."""
    status = (root / "status.md").read_text()
    listed = re.findall(r"^\| `(\d\d-[a-z0-9-]+\.ipynb)` \|", status, flags=re.MULTILINE)
    assert listed == sorted(p.name for p in (root / "chapters").glob("*.ipynb")), (
        "status.md is out of date: run `make benchmark`")
    assert "| torch |" in status and "| numpy |" in status
