"""Packaging metadata follows current conventions: set-up prints no deprecation warning of ours."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_string_with_a_build_backend_that_reads_it() -> None:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    # a `license = { text = ... }` table is deprecated since setuptools 77 (PEP 639): a warning per install
    assert project["project"]["license"] == "Apache-2.0"
    (setuptools,) = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert minimum is not None and int(minimum.group(1)) >= 77, setuptools
    assert not any(c.startswith("License ::") for c in project["project"].get("classifiers", ()))
