"""Small nightly runs, written with the real results store, one per "night"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lab.criteria import Outcome, combine, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.results import Manifest, ProfileRef, RunWriter, TestRecord, write_manifest

THROUGHPUT = Criterion("throughput", Axis.PERFORMANCE, "samples/s", "", Limits(minimum=1000.0, marginal=0.05))
TEMPERATURE = Criterion("temperature", Axis.STABILITY, "°C", "", Limits(maximum=85.0, marginal=0.02))
PERF_TEST = "testsuites/performance/test_offline.py::test_throughput[n1:npu0]"
TEMP_TEST = "testsuites/stability/test_soak.py::test_temperature[n1:npu0]"
LINK_TEST = "testsuites/functional/test_pcie.py::test_link[n1:npu0]"
FIRST_NIGHT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def nightly_run(
    root: Path,
    night: int,
    *,
    throughput: float = 1500.0,
    temperature: float = 70.0,
    link: Outcome = Outcome.PASS,
    firmware: str = "1.2.3",
    perf_properties: dict[str, object] | None = None,
) -> Path:
    """Night ``night`` (0, 1, 2, ...): a run started at 02:00 that day. ``perf_properties`` are
    extra properties of the throughput test (e.g. its LoadGen run length)."""
    started = FIRST_NIGHT + timedelta(days=night)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{night:06x}"
    run_dir = root / run_id
    manifest = replace(
        Manifest.start(run_id=run_id, profile=ProfileRef("k-cloud-npu", "2026.1", "0" * 64)), started=started
    )
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        for test_id, measurements, outcome in (
            (PERF_TEST, (evaluate(THROUGHPUT, throughput),), None),
            (TEMP_TEST, (evaluate(TEMPERATURE, temperature),), None),
            (LINK_TEST, (), link),
        ):
            verdict = outcome or combine(m.verdict for m in measurements)
            writer.record(
                TestRecord(
                    test_id=test_id, outcome=verdict, node="n1", device="npu0", axis=Axis.COMPATIBILITY,
                    measurements=measurements, started=started, finished=started + timedelta(seconds=1),
                    duration=1.0,
                    properties={
                        "firmware_version": firmware, "trust_mode": "strict",
                        **(perf_properties if test_id == PERF_TEST and perf_properties else {}),
                    },
                )
            )  # fmt: skip
    write_manifest(run_dir, replace(manifest.finish(exit_status=0), finished=started + timedelta(minutes=5)))
    return run_dir
