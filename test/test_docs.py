"""The README stays a newcomer's page, and every relative link in it and in docs/ resolves."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text, in_code, out = path.read_text(), False, set()
    for line in text.splitlines():
        in_code ^= line.startswith("```")
        if not in_code and line.startswith("#"):
            out.add(_slug(line.lstrip("#")))
    return out


def test_readme_is_short():
    assert (REPO / "README.md").stat().st_size < 15_000


def test_every_relative_link_resolves():
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "anon_compression_codec" / "README.md"]
    checked = 0
    for page in pages:
        in_code = False
        for line in page.read_text().splitlines():
            in_code ^= line.startswith("```")
            if in_code:
                continue
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # http(s), mailto: not checked offline
                path, _, anchor = target.partition("#")
                resolved = (page.parent / path).resolve() if path else page
                assert resolved.exists(), f"{page.relative_to(REPO)}: link {target} does not resolve"
                if anchor and resolved.suffix == ".md":
                    assert anchor in _anchors(resolved), f"{page.relative_to(REPO)}: no heading for #{anchor} in {path}"
                checked += 1
    assert checked > 20  # the pages do link to each other
