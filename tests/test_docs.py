"""docs/: the four documents a new maintainer reads, their generated parts current, and no
reference to a specification outside the repository."""

from __future__ import annotations

import re
import subprocess

import pytest

from dagster_project.contracts import load_contracts
from dagster_project.reference_docs import DOCS_DIR, PARTS, contracts, indicators, render, updated_documents
from dagster_project.settings import REPO_ROOT

DOCUMENTS = ("architecture.md", "methodology.md", "operations.md", "auditors.md")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_document_exists_in_german_with_an_english_summary(name):
    text = (DOCS_DIR / name).read_text(encoding="utf-8")
    assert text.startswith("# ") and "## English summary" in text
    assert len(text) > 3000


def test_generated_parts_match_the_catalogue_and_the_contracts():
    stale = [path.name for path, (current, new) in updated_documents().items() if current != new]
    assert not stale, f"make docs: veraltet {stale}"
    methodology = (DOCS_DIR / "methodology.md").read_text(encoding="utf-8")
    operations = (DOCS_DIR / "operations.md").read_text(encoding="utf-8")
    for indicator in ("sgb2_rate", "share_eu2", "min_income_rate"):
        assert f"(`{indicator}`)" in methodology
    for contract in load_contracts().values():
        assert f"(`{contract.register}`)" in operations
        for column in contract.columns:
            assert f"`{column.name}`" in operations


def test_a_changed_catalogue_makes_the_part_stale():
    """The check can fail: a part rendered from other content differs from the document."""
    path = DOCS_DIR / "methodology.md"
    text = path.read_text(encoding="utf-8")
    assert render(text, "indicators", indicators()) == text
    assert render(text, "indicators", indicators().replace("SGB-II-Quote", "SGB-II-Anteil")) != text
    with pytest.raises(ValueError, match="Markierungen"):
        render("# ohne Markierungen\n", "contracts", contracts())
    assert set(PARTS) == {"indicators", "monitoring_measures", "time_series_breaks", "delivery_calendar", "contracts"}


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_links_between_documents_point_to_existing_files_and_headings():
    for path in DOCS_DIR.glob("*.md"):
        for target, anchor in re.findall(r"\]\(([^)#:]*\.md)?(?:#([^)]+))?\)", path.read_text(encoding="utf-8")):
            if not target and not anchor:
                continue
            linked = path.parent / target if target else path
            assert linked.is_file(), f"{path.name} -> {target}"
            if anchor:
                assert anchor in _anchors(linked.read_text(encoding="utf-8")), f"{path.name} -> {target}#{anchor}"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name in DOCUMENTS:
        assert f"docs/{name}" in readme


def test_no_file_refers_to_a_specification_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"[S]PEC\.md|\.\./shared/|/work/shared|Spezifikation|specification \(", re.IGNORECASE)
    hits = []
    for name in files:
        path = REPO_ROOT / name
        if path.suffix in {".png", ".xlsx", ".parquet", ".duckdb"} or not path.is_file() or name == "tests/test_docs.py":
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        hits += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not hits, hits
