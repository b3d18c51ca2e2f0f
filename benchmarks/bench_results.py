"""Cost of crash safety in the results store, against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_results.py

* write: ``RunWriter.record`` (one fsync-ed line per record) vs appending the same JSON
  lines to a buffered file with only a final flush (what a results-at-the-end tool does);
* load: ``load_run`` on a 10,000-record run vs bare ``json.loads`` of the same lines;
* evaluate: ``lab.criteria.evaluate`` per value vs a bare ``minimum <= v <= maximum``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lab.criteria import Outcome, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.results import CollectedTest, RunWriter, TestRecord, load_run

TEMP = Criterion("temperature", Axis.STABILITY, "°C", "die temperature", Limits(maximum=85.0, marginal=0.05))
T0 = datetime(2026, 11, 25, tzinfo=UTC)


def make_records(count: int) -> list[TestRecord]:
    return [
        TestRecord(
            test_id=f"functional/test_health.py::test_temp_{i // 1000}[node-{i % 500:03d}:npu{i % 8}]",
            outcome=Outcome.PASS,
            node=f"node-{i % 500:03d}",
            device=f"npu{i % 8}",
            measurements=tuple(evaluate(TEMP, 60.0 + (i + k) % 30) for k in range(3)),
            started=T0 + timedelta(seconds=i),
            finished=T0 + timedelta(seconds=i + 1),
            duration=1.0,
        )
        for i in range(count)
    ]


def median_time(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_write(records: list[TestRecord], folder: Path) -> None:
    lines = [json.dumps({"kind": "record", **r.to_dict()}) + "\n" for r in records]
    counter = iter(range(1_000_000))

    def baseline() -> None:
        with (folder / f"plain-{next(counter)}.jsonl").open("w", encoding="utf-8") as stream:
            for line in lines:
                stream.write(line)

    def crash_safe() -> None:
        with RunWriter(folder / f"run-{next(counter)}", worker="gw0") as writer:
            for record in records:
                writer.record(record)

    plain = median_time(baseline, 5) / len(records)
    safe = median_time(crash_safe, 5) / len(records)
    print(
        f"write  per record: RunWriter (fsync each) {safe * 1e6:9.1f} µs | buffered, flush at end "
        f"{plain * 1e6:7.1f} µs | ratio {safe / plain:6.1f}x"
    )


def bench_load(records: list[TestRecord], folder: Path) -> None:
    run_dir = folder / "load"
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.collected(CollectedTest(r.test_id, node=r.node, device=r.device) for r in records)
        for record in records:
            writer.record(record)
    raw = (run_dir / "records-gw0.jsonl").read_bytes()

    loaded = median_time(lambda: load_run(run_dir), 5)
    parsed = median_time(lambda: [json.loads(line) for line in raw.splitlines()], 5)
    assert len(load_run(run_dir).records) == len(records)
    print(
        f"load   {len(records)} records: load_run {loaded * 1e3:7.1f} ms"
        f" | json.loads only {parsed * 1e3:7.1f} ms | ratio {loaded / parsed:5.1f}x"
    )


def bench_evaluate() -> None:
    values = [60.0 + i % 40 for i in range(20_000)]
    judged = median_time(lambda: [evaluate(TEMP, v) for v in values], 5) / len(values)
    bare = median_time(lambda: [v <= 85.0 for v in values], 5) / len(values)
    print(
        f"evaluate per value: {judged * 1e6:6.2f} µs | bare comparison {bare * 1e6:6.3f} µs"
        f" | ratio {judged / bare:5.0f}x"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        bench_write(make_records(1000), base)
        bench_load(make_records(10_000), base)
    bench_evaluate()


if __name__ == "__main__":
    main()
