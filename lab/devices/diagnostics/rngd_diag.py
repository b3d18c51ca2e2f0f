"""FuriosaAI ``rngd-diag``: the RNGD hardware diagnostic of ``furiosa-toolkit-rngd``, judged with
the thresholds of FuriosaAI's own validator.

::

    run = RngdDiag().parse(yaml_text, 1)
    run.failed("hardware")     # (DiagTest('sensors', 'hardware', 'fail', 'npu1', 'soc 91.2 °C ...'),)

What FuriosaAI publishes (``furiosa-ai/furiosa-rngd-validator``: ``scripts/phases/run_diag.sh``
runs ``rngd-diag [--npu LIST] -o diag.yaml``; its decoder ``scripts/tools/rngd_diag_decoder``
reads that YAML and applies ``thresholds.py``): a YAML document whose
``rngd_diag.npus.<npuN>`` holds ``sensor.details`` (°C sensors ``ta``, ``npu_ambient``,
``hbm``, ``soc``, ``pe`` and the board power ``p_rms_total`` in W), ``power_sense.value``,
``pcie.link.speed``/``width`` (``"32GT/s"``, ``"x16"``) and ``pcie.aer.total_err_fatal``;
with the hal-bench and stress parts on, sibling sections ``furiosa_hal_bench`` and
``furiosa_stress_test`` (not run here: ``--no-hal-bench --no-stress-test``, the options
``rngd-diag --help`` lists). The validator's thresholds, applied per NPU as four tests:

=============== ============================================================
``sensors``     every listed °C sensor 10.0–80.0, ``p_rms_total`` 30.0–60.0 W
``power_sense`` ``power_sense.value`` 2.0 or 3.0
``pcie_link``   ``32GT/s`` and ``x16``
``pcie_aer``    ``total_err_fatal`` 0
=============== ============================================================

All four are hardware tests (rngd-diag checks no software). The YAML is written to a file
(``-o``), so the command runs the tool with its console output on stderr and prints the file:
stdout is the YAML alone. ``rngd-diag`` reads ``/sys/kernel/debug/rngd`` and needs root.
No capture is published: ``tests/devices/captures/diagnostics/rngd_diag_rngd.yaml`` is
reconstructed from the decoder and its unit tests (README there).
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from lab.devices.diagnostics.model import Diagnostic, DiagnosticRun, DiagTest
from lab.errors import ToolOutputError

SENSOR_LIMITS: Mapping[str, tuple[float, float, str]] = {
    "ta": (10.0, 80.0, "°C"),
    "npu_ambient": (10.0, 80.0, "°C"),
    "hbm": (10.0, 80.0, "°C"),
    "soc": (10.0, 80.0, "°C"),
    "pe": (10.0, 80.0, "°C"),
    "p_rms_total": (30.0, 60.0, "W"),
}
"""FuriosaAI validator ``thresholds.SENSOR_LIMITS``."""
POWER_SENSE_VALID = (2.0, 3.0)
PCIE_SPEED, PCIE_WIDTH, AER_FATAL = "32GT/s", "x16", 0

SCRIPT = (
    'f=$(mktemp) || exit 125; rngd-diag --no-hal-bench --no-stress-test -o "$f" >&2; s=$?; '
    '[ "$s" -eq 0 ] && cat "$f"; rm -f "$f"; exit "$s"'
)
"""Fixed shell text (nothing from the inventory in it): the YAML file on stdout, the rest on stderr."""


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class RngdDiag(Diagnostic):
    tool = "rngd-diag"
    levels = (1,)

    def arguments(self, level: int) -> list[str]:
        return ["sh", "-c", SCRIPT]

    def parse(self, text: str, level: int) -> DiagnosticRun:
        def bad(why: str) -> ToolOutputError:
            return ToolOutputError(why, raw=text, tool="rngd-diag")

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise bad(f"not YAML ({error})") from None
        root = data.get("rngd_diag") if isinstance(data, dict) else None
        npus = root.get("npus") if isinstance(root, dict) else None
        if not isinstance(npus, dict) or not npus:
            raise bad("no rngd_diag.npus mapping")
        tests: list[DiagTest] = []
        for npu in sorted(npus, key=str):
            tests.extend(_npu_tests(str(npu), npus[npu], text))
        return DiagnosticRun("rngd-diag", level, tuple(tests))


def _npu_tests(npu: str, entry: object, text: str) -> list[DiagTest]:
    """The four threshold tests of one NPU's section; ``ToolOutputError`` when it is malformed."""

    def fail(why: str) -> ToolOutputError:
        return ToolOutputError(f"{npu}: {why}", raw=text, tool="rngd-diag")

    if not isinstance(entry, dict):
        raise fail("not a mapping")
    sensor = entry.get("sensor")
    details = sensor.get("details") if isinstance(sensor, dict) else None
    if not isinstance(details, dict) or not details:
        raise fail("no sensor.details")
    problems: list[str] = []
    for name, value in details.items():
        number = _number(value)
        if number is None:
            raise fail(f"sensor {name!r} is not a number: {value!r}")
        if name in SENSOR_LIMITS:
            low, high, unit = SENSOR_LIMITS[name]
            if not low <= number <= high:
                problems.append(f"{name} {number:g} {unit} outside {low:g}-{high:g}")
    if not SENSOR_LIMITS.keys() & details.keys():
        raise fail(f"none of the sensors {sorted(SENSOR_LIMITS)}")
    power_sense = entry.get("power_sense")
    sense = _number(power_sense.get("value")) if isinstance(power_sense, dict) else None
    pcie = entry.get("pcie")
    link = pcie.get("link") if isinstance(pcie, dict) else None
    aer = pcie.get("aer") if isinstance(pcie, dict) else None
    if sense is None:
        raise fail("no numeric power_sense.value")
    if not isinstance(link, dict) or not all(isinstance(link.get(k), str) for k in ("speed", "width")):
        raise fail("no pcie.link speed and width")
    fatal = aer.get("total_err_fatal") if isinstance(aer, dict) else None
    if not isinstance(fatal, int) or isinstance(fatal, bool):
        raise fail("no integer pcie.aer.total_err_fatal")

    def test(name: str, failure: str) -> DiagTest:
        return DiagTest(name, "hardware", "fail" if failure else "pass", npu, failure)

    speed, width = link["speed"], link["width"]
    return [
        test("sensors", "; ".join(problems)),
        test("power_sense", "" if sense in POWER_SENSE_VALID else f"power_sense {sense:g}, expected 2 or 3"),
        test(
            "pcie_link",
            ""
            if (speed, width) == (PCIE_SPEED, PCIE_WIDTH)
            else f"link {speed} {width}, expected 32GT/s x16",
        ),
        test("pcie_aer", "" if fatal == AER_FATAL else f"{fatal} fatal AER errors"),
    ]
