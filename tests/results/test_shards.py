"""Merging shard run directories: refused when they do not belong together, provenance kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import Manifest, ProfileRef, RunWriter, TestRecord, load_run, write_manifest
from lab.results.shards import ShardMergeError, merge_shards, node_costs, nodes_digest

ALL_NODES = ("n1", "n2", "n3")
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _shard_entry(number: int, count: int, of: tuple[str, ...]) -> dict[str, object]:
    entry = {"number": number, "count": count, "by": [], "source": "option"}
    return {**entry, "of_nodes": len(of), "of_nodes_sha256": nodes_digest(of)}


def _shard(
    root: Path,
    number: int,
    nodes: tuple[str, ...],
    *,
    count: int = 2,
    of: tuple[str, ...] = ALL_NODES,
    record_nodes: tuple[str, ...] | None = None,
    profile: str = "2026.1",
) -> Path:
    run_dir = root / f"shard-{number}-{'-'.join(nodes)}"
    manifest = replace(
        Manifest.start(
            run_id=run_dir.name,
            profile=ProfileRef("kcloud-npu", profile, "0" * 64),
            selected_nodes=nodes,
            properties={
                "shard": {
                    "number": number,
                    "count": count,
                    "by": [],
                    "source": "option",
                    "of_nodes": len(of),
                    "of_nodes_sha256": nodes_digest(of),
                }
            },
        ),
        started=START + timedelta(minutes=number),
        hostname=f"controller-{number}",
    )
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        for node in record_nodes if record_nodes is not None else nodes:
            writer.record(
                TestRecord(test_id=f"t.py::test_a[{node}]", outcome=Outcome.PASS, node=node, duration=2.5)
            )
        writer.write_evidence(f"t.py::test_a[{nodes[0]}]", "transcript.txt", f"shard {number}")
    write_manifest(run_dir, replace(manifest, finished=START + timedelta(hours=number), exit_status=number))
    return run_dir


def test_two_shards_become_one_run_with_each_shards_provenance(tmp_path: Path) -> None:
    first, second = _shard(tmp_path, 1, ("n1", "n3")), _shard(tmp_path, 2, ("n2",))
    merged = load_run(merge_shards([second, first], tmp_path / "merged"))
    assert sorted(record.node or "" for record in merged.records) == ["n1", "n2", "n3"]
    assert merged.manifest is not None
    assert merged.manifest.started == START + timedelta(minutes=1)
    assert merged.manifest.finished == START + timedelta(hours=2)
    assert merged.manifest.exit_status == 2
    shards = merged.manifest.properties["shards"]
    assert isinstance(shards, list)
    assert [(s["number"], s["controller"], s["nodes"]) for s in shards] == [  # type: ignore[index]
        (1, "controller-1", ["n1", "n3"]),
        (2, "controller-2", ["n2"]),
    ]
    assert (tmp_path / "merged" / "evidence").is_dir()
    assert sorted(p.name for p in (tmp_path / "merged").glob("records-*.jsonl")) == [
        "records-s1-gw0.jsonl",
        "records-s2-gw0.jsonl",
    ]


def test_an_unfinished_shard_leaves_the_merged_run_unfinished(tmp_path: Path) -> None:
    first, second = _shard(tmp_path, 1, ("n1", "n3")), _shard(tmp_path, 2, ("n2",))
    manifest = load_run(second).manifest
    assert manifest is not None
    write_manifest(second, replace(manifest, finished=None, exit_status=None))
    merged = load_run(merge_shards([first, second], tmp_path / "merged"))
    assert merged.manifest is not None and merged.manifest.finished is None
    assert not merged.complete


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: [_shard(r, 1, ("n1", "n3"))], r"shard 2 of 2 missing"),
        (
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 1, ("n1", "n3"), count=2, of=ALL_NODES)],
            r"shard 1/2 given twice",
        ),
        (
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 2, ("n2", "n3"))],
            r"node n3 is in two shards: .*shard-1-n1-n3 and .*shard-2-n2-n3",
        ),
        (
            # the selected lists are disjoint but a record of n1 turns up in shard 2
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 2, ("n2",), record_nodes=("n2", "n1"))],
            r"node n1 is in two shards",
        ),
        (
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 2, ("n2",), count=3)],
            r"shard 2/3 but .* is 1/2: shards of different splits",
        ),
        (
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 2, ("n2",), of=("n1", "n2", "n3", "n4"))],
            r"split different node selections",
        ),
        (
            lambda r: [_shard(r, 1, ("n1",)), _shard(r, 2, ("n2",))],
            r"the shards cover 2 nodes but split a selection of 3",
        ),
        (
            lambda r: [_shard(r, 1, ("n1", "n3")), _shard(r, 2, ("n2",), profile="2027.1")],
            r"judged by different profiles",
        ),
    ],
)
def test_shards_that_do_not_belong_together_are_refused(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ShardMergeError, match=message):
        merge_shards(make(tmp_path), tmp_path / "merged")
    assert not (tmp_path / "merged").exists()  # nothing written


def test_a_run_that_was_not_a_shard_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write_manifest(plain, Manifest.start(run_id="plain"))
    with pytest.raises(ShardMergeError, match=r"plain: not a shard .*--shard K/N"):
        merge_shards([plain], tmp_path / "merged")


def test_an_existing_output_directory_is_never_overwritten(tmp_path: Path) -> None:
    first, second = _shard(tmp_path, 1, ("n1", "n3")), _shard(tmp_path, 2, ("n2",))
    (tmp_path / "merged").mkdir()
    (tmp_path / "merged" / "keep.txt").write_text("x")
    with pytest.raises(ShardMergeError, match=r"already exists and is not empty"):
        merge_shards([first, second], tmp_path / "merged")


def test_node_costs_sum_each_nodes_durations(tmp_path: Path) -> None:
    run = load_run(_shard(tmp_path, 1, ("n1", "n3"), record_nodes=("n1", "n1", "n3")))
    # n1's two records share a test id: the later one supersedes the first, so 2.5 s each
    assert node_costs(run) == {"n1": 2.5, "n3": 2.5}


def test_a_collision_while_copying_leaves_nothing_behind(tmp_path: Path) -> None:
    first, second = _shard(tmp_path, 1, ("n1", "n3")), _shard(tmp_path, 2, ("n2",))
    (evidence,) = (first / "evidence").iterdir()
    clash = second / "evidence" / evidence.name
    clash.mkdir(parents=True)
    (clash / "transcript.txt").write_text("the same test's evidence in two shards")
    with pytest.raises(ShardMergeError, match=r"another shard already wrote evidence/"):
        merge_shards([first, second], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_health_gate_files_of_each_shard_reach_the_merged_run(tmp_path: Path) -> None:
    from lab.health import quarantine, read_quarantines

    first, second = _shard(tmp_path, 1, ("n1", "n3")), _shard(tmp_path, 2, ("n2",))
    quarantine(second, "n2", "kernel-aer-fatal: 1 errors > max 0", suite="functional")
    (second / "health").mkdir()
    (second / "health" / "n2.jsonl").write_text('{"phase": "before"}\n')
    merged = merge_shards([first, second], tmp_path / "merged")
    assert [(q.node, q.reason) for q in read_quarantines(merged)] == [
        ("n2", "kernel-aer-fatal: 1 errors > max 0")
    ]
    assert (merged / "health" / "n2.jsonl").read_text() == '{"phase": "before"}\n'
    # the merged report (what ``lab campaign merge`` renders) names the quarantined node
    from lab.report import render_report

    notice = render_report(merged, lang="en").split("Nodes quarantined by the health gate", 1)[1]
    notice = notice[: notice.index("</div>")]
    assert "n2" in notice and "kernel-aer-fatal" in notice and "n1" not in notice
