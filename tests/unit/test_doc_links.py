"""Every relative link of the README and docs/ points at a file (or folder) of this repository, and every
`#anchor` at a heading of its target: a reader of the repository alone never meets a dead link."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md"), *(REPO / "bench").glob("*.md")])

_FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", flags=re.MULTILINE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", flags=re.IGNORECASE)  # http:, https:, mailto:, ...


def links(markdown: str) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", markdown))
    return [*_INLINE.findall(text), *_REFERENCE.findall(text)]


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens (numbered when repeated)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", markdown), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def test_links_and_anchors_are_read_like_github_does() -> None:
    text = "[a](x.md) ![i](img.png \"t\") `[no](code.md)`\n```\n[no](fence.md)\n```\n[r]: ref.md\n# Install flow\n"
    assert links(text) == ["x.md", "img.png", "ref.md"]
    assert anchors("# Install flow\n## `GET /slack/installation`\n## Install flow") == {
        "install-flow", "get-slackinstallation", "install-flow-1"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    markdown = document.read_text(encoding="utf-8")
    dead = []
    for link in links(markdown):
        if _EXTERNAL.match(link):
            continue
        path, _, anchor = unquote(link).partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.is_relative_to(REPO) or not target.exists():
            dead.append(f"{link} (no such file in the repository)")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target.read_text(encoding="utf-8")):
            dead.append(f"{link} (no heading #{anchor} in {target.relative_to(REPO)})")
    assert dead == [], f"{document.relative_to(REPO)}: dead links: {dead}"


def test_no_document_points_outside_the_repository_in_prose_either() -> None:
    # `../shared/CONTRACT.md` was the contract's place outside the repository; docs/contract/ holds it now.
    offenders = [p.relative_to(REPO).as_posix() for p in DOCUMENTS if "../shared/" in p.read_text(encoding="utf-8")]
    assert offenders == []
