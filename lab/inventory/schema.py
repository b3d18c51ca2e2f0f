"""JSON Schema of the three YAML formats, generated from :mod:`lab.inventory.formats`.

Editors validate inventories as people type with it. VS Code (YAML extension)::

    "yaml.schemas": {"lab/inventory/schema.json": ["inventory/*.yaml"]},
    "yaml.customTags": ["!env scalar"]

The schema checks shapes (keys, types, ranges); rules across values (references,
duplicates, jump cycles, host-key parsing, literal passwords) need ``lab inventory check``.
``lab/inventory/schema.json`` is the generated inventory schema, kept in the repository
(a test checks it matches the formats).
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.inventory.formats import CATALOG, INVENTORY, PROFILE
from lab.inventory.spec import JsonSchema, Obj

SCHEMA_FILE = Path(__file__).with_name("schema.json")
KINDS: dict[str, tuple[Obj, str]] = {
    "inventory": (INVENTORY, "kcloud-lab inventory"),
    "catalog": (CATALOG, "kcloud-lab device catalog"),
    "profile": (PROFILE, "kcloud-lab certification profile"),
}


def json_schema(kind: str = "inventory") -> JsonSchema:
    """The JSON Schema (draft 2020-12) of ``kind``: inventory, catalog or profile."""
    spec, title = KINDS[kind]
    schema: JsonSchema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kcloud-lab.invalid/schema/{kind}.json",
        "title": title,
    }
    defs: dict[str, JsonSchema] = {}
    schema.update(spec.json_schema(defs))
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def schema_text(kind: str = "inventory") -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # regenerate the stored file: python -m lab.inventory.schema
    SCHEMA_FILE.write_text(schema_text("inventory"), encoding="utf-8")
