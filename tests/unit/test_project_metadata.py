"""The package says what it is: a LICENSE file that matches the declared licence, and the metadata
PyPI and pip show (URLs, classifiers, keywords)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself needs tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def test_the_license_file_is_the_declared_mit_license() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert _project()["license"] == "MIT"
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_metadata_is_complete() -> None:
    project = _project()
    urls = project["urls"]
    assert isinstance(urls, dict) and {"Homepage", "Source", "Issues", "Documentation"} <= urls.keys()
    assert all(str(url).startswith("https://") for url in urls.values())
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list) and "Environment :: Console" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the SPDX `license` says it
    assert f"Programming Language :: Python :: {str(project['requires-python']).removeprefix('>=')}" in classifiers
    assert project["keywords"] and project["authors"]
