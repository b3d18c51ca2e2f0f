"""The report's Korean/English labels, from ``messages.yaml`` next to the templates.

::

    catalog = load_catalog([override_dir, DEFAULT_TEMPLATES])
    catalog.text("axis.stability", "ko")      # '안정성'
    catalog.text("no.such.key", "en")         # 'no.such.key' (a missing label never breaks a report)
    catalog.label("trust mode", "ko")         # '신뢰 모드' (prop.trust_mode), else the name itself
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab.criteria import DataFormatError

LANGUAGES = ("ko", "en")
CATALOG_NAME = "messages.yaml"


@dataclass(frozen=True, slots=True)
class Catalog:
    """Label key → language → text."""

    entries: Mapping[str, Mapping[str, str]]

    def text(self, key: str, lang: str) -> str:
        entry = self.entries.get(key)
        if entry is None:
            return key
        return entry.get(lang) or entry.get("en") or key

    def label(self, name: str, lang: str) -> str:
        """A recorded property's or provenance row's name in ``lang`` (``prop.<name>`` in the
        catalog, spaces as underscores); a name without an entry is shown as recorded."""
        key = "prop." + name.replace(" ", "_")
        return self.text(key, lang) if key in self.entries else name


def load_catalog(directories: Sequence[Path]) -> Catalog:
    """Merge ``messages.yaml`` of each directory, earlier directories winning key by key."""
    merged: dict[str, Mapping[str, str]] = {}
    for directory in reversed(directories):
        path = directory / CATALOG_NAME
        if path.is_file():
            merged.update(_read(path))
    return Catalog(merged)


def _read(path: Path) -> dict[str, Mapping[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataFormatError(f"{path}: unreadable message catalog: {exc}") from exc
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a mapping of label → {{ko: ..., en: ...}}")
    entries: dict[str, Mapping[str, str]] = {}
    for key, value in data.items():
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise DataFormatError(
                f"{path}: label {key!r} must map languages to text, e.g. {{ko: ..., en: ...}}"
            )
        entries[str(key)] = {str(lang): text for lang, text in value.items()}
    return entries
