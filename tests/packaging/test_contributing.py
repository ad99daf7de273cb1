"""CONTRIBUTING.md's map of the house names every module of the library and the handler, and no other.

A module added, split or renamed without its line in the map fails here, and so does a line for a module
that is gone: the map is where a newcomer learns what each file is for.
"""

from __future__ import annotations

import re

from tests.paths import ROOT

SOURCE_FOLDERS = ("constructs/kvs_pool_retention", "lambda")
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()


def modules_on_disk() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in SOURCE_FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def modules_named(text: str) -> set[str]:
    """Every module path `text` gives in a code span."""
    folders = "|".join(re.escape(folder) for folder in SOURCE_FOLDERS)
    return set(re.findall(rf"`((?:{folders})/[\w/]+\.py)`", text))


def the_map() -> str:
    """The first column of the tables in the section "The map of the house"."""
    section = CONTRIBUTING.split("\n## The map of the house\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line.split("|")[1] for line in section.splitlines() if line.startswith("|"))


def test_every_module_is_on_the_map():
    missing = sorted(modules_on_disk() - modules_named(the_map()))
    assert not missing, f"CONTRIBUTING.md's map of the house does not name: {', '.join(missing)}"


def test_the_map_names_no_module_that_does_not_exist():
    gone = sorted(modules_named(CONTRIBUTING) - modules_on_disk())
    assert not gone, f"CONTRIBUTING.md names modules that do not exist: {', '.join(gone)}"


def test_the_readme_links_the_contributor_guide_and_the_test_layout():
    readme = (ROOT / "README.md").read_text()
    assert "](CONTRIBUTING.md" in readme
    assert "](tests/README.md)" in readme
