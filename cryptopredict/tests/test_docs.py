"""The project's documents hold together: links resolve inside the repository, and
docs/data-model.md names every table, column, constraint and index of the models."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from simple_history.models import HistoricalChanges

from cryptopredict.tests.test_constraints import PROJECT_APPS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """Return the text without code blocks and code spans, where brackets are not links."""
    return CODE.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """Return the #anchors GitHub gives the headings of a Markdown text."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(document: Path) -> list[str]:
    """Return the relative links and #anchors of a Markdown file that lead nowhere."""
    broken = []
    for target in LINK.findall(prose(document.read_text())):
        if re.match(r"[a-z][a-z+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        missing = not resolved.is_relative_to(ROOT) or not resolved.exists()
        if missing or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text())):
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document):
    assert broken_links(document) == []


def test_a_broken_link_or_anchor_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# Other page\n\n## Run `make test`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n[ok](other.md) [ok](other.md#run-make-test) [ok](#title) [web](https://example.com)\n"
        "[gone](missing.md) [bad anchor](other.md#nothing) [outside](../x.md) `[code](no.md)`\n"
        "```\n[fenced](no.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#nothing", "../x.md"]


def data_model_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "data-model.md").read_text()
    return {m[1]: m[2] for m in re.finditer(r"^### `([^`]+)`\n(.*?)(?=^#{2,3} |\Z)", text, re.S | re.M)}


def test_data_model_names_every_table_column_constraint_and_index():
    sections = data_model_sections()
    missing = []
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            if issubclass(model, HistoricalChanges):
                continue
            table = model._meta.db_table
            if table not in sections:
                missing.append(table)
                continue
            words = set(re.findall(r"\w+", sections[table]))
            names = [f.column for f in model._meta.concrete_fields]
            names += [c.name for c in model._meta.constraints] + [i.name for i in model._meta.indexes]
            missing += [f"{table}.{name}" for name in names if name not in words]
    assert missing == [], "add these to their table's section of docs/data-model.md"
