"""NVIDIA ``dcgmi diag -r LEVEL -j``: DCGM's diagnostic, its JSON output.

DCGM 4.x prints ``{"DCGM Diagnostic": {"test_categories": [{"category": "Deployment",
"tests": [{"name": "software", "results": [{"entity_group": "GPU", "entity_id": 0,
"status": "Pass"}], "test_summary": {"status": "Pass"}}]}, ...]}, "metadata": {...}}``;
3.x used the root key ``"DCGM GPU Diagnostic"`` and ``gpu_id`` / ``gpu_ids`` instead of
``entity_id``. A failing result carries ``warnings: [{"warning": "...", "error_id": N}]``.
Levels (domain.md §2): 1 deployment checks; 2 + PCIe and memory; 3 + stress, power and
memory bandwidth; 4 + memtest and pulse test. The Deployment category is the software
category, every other one hardware. A ``runtime_error`` means the diagnostic did not run:
infrastructure (ERROR), never a device verdict. A failed test makes ``dcgmi`` exit non-zero
with the JSON still on stdout, so any exit status is accepted and the JSON decides.
Sources and captures: ``tests/devices/captures/diagnostics/README.md``.
"""

from __future__ import annotations

import json

from lab.devices.diagnostics.model import Diagnostic, DiagnosticRun, DiagTest
from lab.errors import ToolOutputError

ROOT_KEYS = ("DCGM Diagnostic", "DCGM GPU Diagnostic")
STATUS = {"pass": "pass", "fail": "fail", "warn": "warn", "skip": "skip", "not run": "skip"}


def _entity(result: dict[str, object]) -> str:
    for key in ("entity_id", "gpu_id"):
        if key in result:
            return str(result[key])
    ids = result.get("gpu_ids")
    return ",".join(str(i) for i in ids) if isinstance(ids, list) else ""


def _message(result: dict[str, object]) -> str:
    warnings = result.get("warnings")
    if not isinstance(warnings, list):
        return ""
    texts = [str(w.get("warning", "")) if isinstance(w, dict) else str(w) for w in warnings]
    return "; ".join(text for text in texts if text)


class DcgmDiag(Diagnostic):
    tool = "dcgmi"
    levels = (1, 2, 3, 4)

    def arguments(self, level: int) -> list[str]:
        return ["dcgmi", "diag", "-r", str(level), "-j"]

    def exit_ok(self, status: int | None) -> bool:
        return status is not None

    def parse(self, text: str, level: int) -> DiagnosticRun:
        def bad(why: str) -> ToolOutputError:
            return ToolOutputError(why, raw=text, tool="dcgmi diag")

        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise bad(f"not JSON ({error})") from None
        root = next((data[key] for key in ROOT_KEYS if isinstance(data, dict) and key in data), None)
        if not isinstance(root, dict):
            raise bad(f"no {' or '.join(map(repr, ROOT_KEYS))} object")
        if root.get("runtime_error"):
            raise bad(f"the diagnostic did not run: {root['runtime_error']}")
        categories = root.get("test_categories")
        if not isinstance(categories, list) or not categories:
            raise bad("no test_categories")
        tests: list[DiagTest] = []
        for category in categories:
            if not isinstance(category, dict) or not isinstance(category.get("tests"), list):
                raise bad(f"malformed category {category!r}")
            kind = "software" if str(category.get("category", "")).lower() == "deployment" else "hardware"
            for test in category["tests"]:
                if not isinstance(test, dict) or not isinstance(test.get("name"), str):
                    raise bad(f"malformed test {test!r}")
                results = test.get("results")
                if not isinstance(results, list):
                    raise bad(f"test {test['name']!r} has no results list")
                for result in results:
                    status = (
                        STATUS.get(str(result.get("status", "")).lower())
                        if isinstance(result, dict)
                        else None
                    )
                    if status is None or not isinstance(result, dict):
                        raise bad(f"test {test['name']!r}: unknown status in {result!r}")
                    tests.append(DiagTest(test["name"], kind, status, _entity(result), _message(result)))
        return DiagnosticRun("dcgmi diag", level, tuple(tests))
