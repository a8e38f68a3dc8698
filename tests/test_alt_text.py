"""Every image of the built book has real alt text, for a reader who cannot see it.

Real alt text (WCAG 2.2, success criterion 1.1.1) is not missing or empty, is not a file path
or a file name (what myst-nb writes when a figure cell has no ``mystnb.image.alt``), has a
few words at least, and does not repeat the figure's caption word for word (a screen reader
reads both). The figure cells set it with the cell metadata ``mystnb: image: alt`` (see the
README). The only images allowed without such a text are the theme's logos in ``DECORATIVE``,
each inside a button that names it in words.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

MIN_WORDS = 5
"""An alt text shorter than this says too little to describe a figure."""

DECORATIVE = {
    "logo_binder.svg": "the launch button's logo, beside its text 'Binder'",
    "logo_colab.png": "the launch button's logo, beside its text 'Colab'",
}
"""Theme images that need no description, by file name, with the reason."""

FILE_LIKE = re.compile(r"[/\\]|\.(png|jpe?g|gif|svg|webp|pdf)\b|[0-9a-f]{16,}", re.IGNORECASE)


def normalised(text: str) -> str:
    """Lower case, words only: what stays of a text when a screen reader speaks it."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def caption_of(image) -> str:
    """The caption text of the figure an image belongs to, without its number ("Fig. 1.2")."""
    figure = image.find_parent("figure")
    caption = figure.find("figcaption") if figure is not None else None
    if caption is None:
        return ""
    number = caption.find(class_="caption-number")
    text = caption.get_text(" ")
    return text.replace(number.get_text(" "), "", 1) if number is not None else text


def alt_text_problem(alt: str | None, source: str, caption: str) -> str | None:
    """Why an image's alt text is not a description (None: it is one)."""
    if alt is None:
        return "no alt attribute"
    if not alt.strip():
        return "empty alt text"
    name = Path(source.split("?")[0]).name
    if FILE_LIKE.search(alt) or alt.strip() in (source, name):
        return f"alt text is a file path or name: {alt!r}"
    if len(alt.split()) < MIN_WORDS:
        return f"alt text has fewer than {MIN_WORDS} words: {alt!r}"
    spoken, said = normalised(alt), normalised(caption)
    if said and (spoken == said or spoken in said):
        return f"alt text repeats the caption: {alt!r}"
    return None


def alt_text_problems(html: Path) -> list[str]:
    """``page: image: problem`` for every image of every page under ``html`` that lacks
    real alt text."""
    problems = []
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.relative_to(html).parts:
            continue  # theme templates, not pages
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for image in soup.find_all("img"):
            source = image.get("src", "")
            if Path(source.split("?")[0]).name in DECORATIVE:
                continue
            problem = alt_text_problem(image.get("alt"), source, caption_of(image))
            if problem:
                problems.append(f"{page.relative_to(html)}: {Path(source).name}: {problem}")
    return problems


def test_every_image_of_the_book_has_real_alt_text(built_book):
    _, html = built_book
    problems = alt_text_problems(html)
    print(f"\n[alt text] {len(problems)} image(s) without real alt text"
          + "".join(f"\n  {line}" for line in problems))
    assert problems == [], (f"{len(problems)} image(s) without real alt text (set the cell "
                            "metadata mystnb.image.alt):\n" + "\n".join(problems))


def test_decorative_images_are_the_theme_logos_in_use(built_book):
    """The list of images excused from alt text holds only logos the book really shows."""
    _, html = built_book
    pages = "".join(page.read_text(encoding="utf-8") for page in html.rglob("*.html")
                    if "_static" not in page.relative_to(html).parts)
    assert [name for name in DECORATIVE if name not in pages] == []


FIXTURE = """<html><body>
<figure id="fig-good"><img alt="A rising straight line through five blue points, which lie
  close to it." src="_images/aaaa.png"><figcaption><p><span class="caption-number">Fig. 1.1
  </span><span class="caption-text">The data and the fitted line.</span></p></figcaption></figure>
<figure id="fig-path"><img alt="../_images/3b936ea140fe78efe9d7407ef6c8ff225cb756d8.png"
  src="../_images/3b936ea140fe78efe9d7407ef6c8ff225cb756d8.png"></figure>
<img alt="plot.png" src="_images/plot.png">
<img src="_images/no-alt.png">
<img alt="  " src="_images/empty.png">
<img alt="Loss curve" src="_images/short.png">
<figure><img alt="The training and validation losses of gradient descent, epoch by epoch."
  src="_images/repeat.png"><figcaption><p><span class="caption-number">Fig. 2.3 </span>
  <span class="caption-text">The training and validation losses of gradient descent, epoch
  by epoch.</span></p></figcaption></figure>
<figure><img alt="training and validation losses of gradient descent" src="_images/part.png">
  <figcaption><p><span class="caption-number">Fig. 2.4 </span><span class="caption-text">The
  training and validation losses of gradient descent over 100 epochs.</span></p></figcaption>
  </figure>
<a class="btn" href="https://colab.research.google.com/x"><img alt="Colab logo"
  src="_static/images/logo_colab.png"><span>Colab</span></a>
<img alt="A logo that is not on the list of decorative images" src="_static/images/other.svg">
</body></html>"""


def test_the_check_flags_exactly_the_images_without_a_description(tmp_path):
    (tmp_path / "page.html").write_text(FIXTURE, encoding="utf-8")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "ignored.html").write_text('<img src="x.png">')  # a template
    problems = alt_text_problems(tmp_path)
    flagged = {line.split(": ")[1]: line.split(": ", 2)[2] for line in problems}
    assert flagged == {
        "3b936ea140fe78efe9d7407ef6c8ff225cb756d8.png":
            "alt text is a file path or name: '../_images/3b936ea140fe78efe9d7407ef6c8ff225cb756d8.png'",
        "plot.png": "alt text is a file path or name: 'plot.png'",
        "no-alt.png": "no alt attribute",
        "empty.png": "empty alt text",
        "short.png": f"alt text has fewer than {MIN_WORDS} words: 'Loss curve'",
        "repeat.png": "alt text repeats the caption: 'The training and validation losses of "
                      "gradient descent, epoch by epoch.'",
        "part.png": "alt text repeats the caption: 'training and validation losses of "
                    "gradient descent'",
    }, problems
    # the good figure, the decorative logo and the described theme image are not flagged
    assert not any(name in flagged for name in ("aaaa.png", "logo_colab.png", "other.svg"))
