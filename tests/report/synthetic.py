"""Synthetic runs written with the real results store (``RunWriter`` + ``write_manifest``).

::

    run_dir = build_run(tmp_path / "run")                  # finished, two nodes, Korean text, hostile strings
    run_dir = build_run(tmp_path / "run", finished=False)  # a run cut short: one test never finished
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from lab.criteria import JsonValue, Measurement, Outcome, combine, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.results import CollectedTest, ErrorInfo, Manifest, ProfileRef, RunWriter, TestRecord, write_manifest
from lab.results.series import Series, write_series

XSS = "<script>alert(1)</script>"
HOSTILE_DEVICE = f"npu0{XSS}"
HOSTILE_FIRMWARE = f'1.2.3"><img src=x onerror=alert(2)>{XSS}'
TEMPERATURE = Criterion("temperature", Axis.STABILITY, "°C", "온도 상한", Limits(maximum=85.0, marginal=0.05))
THROUGHPUT = Criterion(
    "throughput", Axis.PERFORMANCE, "samples/s", "처리량", Limits(minimum=1000.0, marginal=0.05)
)
FIRMWARE = Criterion("firmware", Axis.COMPATIBILITY, "", "펌웨어 버전", Limits(expected="1.2.3"))

TEMP_TEST = "testsuites/stability/test_soak.py::test_temperature[kt-rbln-07:rbln0]"
PERF_TEST = "testsuites/performance/test_offline.py::test_throughput[kt-rbln-07:rbln0]"
HOSTILE_TEST = "testsuites/functional/test_compatibility.py::test_firmware[노드-가:npu0]"
ERROR_TEST = "testsuites/functional/test_health.py::test_smi[노드-가:npu0]"
UNFINISHED_TEST = "testsuites/stability/test_soak.py::test_power[노드-가:npu0]"


def build_run(
    run_dir: Path,
    *,
    finished: bool = True,
    temperature: float = 84.0,
    throughput: float = 1500.0,
    firmware: str = HOSTILE_FIRMWARE,
) -> Path:
    """Write a run with PASS, MARGINAL, FAIL, ERROR (and INCOMPLETE when not ``finished``)."""
    manifest = Manifest.start(
        run_id=run_dir.name,
        command_line=["pytest", "testsuites", "--lab-inventory", "inventory/emulated.yaml"],
        inventory_files=[],
        inventory_sha256="ab" * 32,
        profile=ProfileRef("k-cloud-npu", "2026.1", "cd" * 32),
        selected_nodes=["kt-rbln-07", "노드-가"],
        trust_mode="strict",
        properties={
            "testbed": "광주 AI 클러스터 검증 환경",
            "operators": ["김시험", "operator <b>2</b>"],
            "campaign": "nightly 2026-11-25",
        },
    )
    write_manifest(run_dir, manifest)
    tests = [TEMP_TEST, PERF_TEST, HOSTILE_TEST, ERROR_TEST] + ([] if finished else [UNFINISHED_TEST])
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.collected([CollectedTest(t, node=_node(t)) for t in tests])
        start = manifest.started
        soak = write_series(
            run_dir,
            TEMP_TEST,
            Series(
                "temperature",
                "°C",
                t=tuple(float(i) for i in range(60)),
                values=tuple(60.0 + i * 0.4 for i in range(60)),
                maximum=85.0,
            ),
        )
        latency = write_series(
            run_dir,
            PERF_TEST,
            Series(
                "latency",
                "ms",
                values=tuple(2.0 + (i % 17) * 0.1 for i in range(500)),
                kind="samples",
                maximum=15.0,
            ),
        )
        _record(
            writer,
            TEMP_TEST,
            "kt-rbln-07",
            "rbln0",
            (evaluate(TEMPERATURE, temperature, evidence=[soak]),),
            start,
            properties={
                "trust_mode": "strict",
                "host_key_fingerprint": "SHA256:abc",
                "firmware_version": "1.2.3",
            },
        )
        _record(
            writer,
            PERF_TEST,
            "kt-rbln-07",
            "rbln0",
            (evaluate(THROUGHPUT, throughput),),
            start,
            evidence=(latency,),
            properties={"short_run": True, "driver_version": "3.0.0"},
        )
        transcript = writer.write_evidence(
            HOSTILE_TEST, "transcript.txt", f"$ furiosa-smi info\n{XSS}\n펌웨어 오류\n"
        )
        _record(
            writer,
            HOSTILE_TEST,
            "노드-가",
            HOSTILE_DEVICE,
            (evaluate(FIRMWARE, firmware),),
            start,
            evidence=(transcript,),
            properties={"firmware_version": HOSTILE_FIRMWARE},
        )
        writer.started(ERROR_TEST, node="노드-가", device="npu0")
        writer.record(
            TestRecord(
                test_id=ERROR_TEST,
                outcome=Outcome.ERROR,
                node="노드-가",
                device="npu0",
                axis=Axis.USABILITY,
                started=start,
                finished=start + timedelta(seconds=2),
                duration=2.0,
                error=ErrorInfo(
                    "lab.errors.CommandTimeout", f"timeout {XSS}", f"rbln-smi hung for 30 s\n{XSS}"
                ),
            )
        )
        if not finished:
            writer.started(UNFINISHED_TEST, node="노드-가", device="npu0")
    if finished:
        write_manifest(run_dir, manifest.finish(exit_status=1))
    return run_dir


def _node(test_id: str) -> str:
    return test_id.rsplit("[", 1)[1].split(":")[0]


def _record(
    writer: RunWriter,
    test_id: str,
    node: str,
    device: str,
    measurements: tuple[Measurement, ...],
    start: datetime,
    *,
    evidence: tuple[str, ...] = (),
    properties: dict[str, JsonValue] | None = None,
) -> None:
    writer.started(test_id, node=node, device=device)
    writer.record(
        TestRecord(
            test_id=test_id,
            outcome=combine(m.verdict for m in measurements),
            node=node,
            device=device,
            measurements=measurements,
            started=start,
            finished=start + timedelta(seconds=1.5),
            duration=1.5,
            evidence=tuple(evidence),
            properties=properties or {},
        )
    )
