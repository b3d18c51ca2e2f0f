"""manifest.json: full round trip, atomic replacement, provenance (hashes, git commit)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

import lab
from lab.criteria import DataFormatError
from lab.inventory.model import Profile
from lab.results import InputFile, Manifest, ProfileRef, git_commit, new_run_id, read_manifest, write_manifest


def test_start_fills_provenance_and_round_trips(tmp_path: Path) -> None:
    inventory = tmp_path / "lab.yaml"
    inventory.write_text("nodes: {}\n", encoding="utf-8")
    profile = Profile("functional", "1.2", "K-Cloud functional", {}, {}, sha256="ab" * 32)
    manifest = Manifest.start(
        run_id="20261125T120000Z-abcdef",
        command_line=["pytest", "testsuites/functional", "-n", "4"],
        inventory_files=[inventory, tmp_path / "missing.yaml"],
        inventory_sha256="cd" * 32,
        profile=ProfileRef.of(profile),
        selected_nodes=["kt-rbln-07", "nv-h100-01"],
        trust_mode="strict",
        properties={"ci": {"job": 42}},
    )
    assert manifest.inventory_files == (
        InputFile(str(inventory), hashlib.sha256(b"nodes: {}\n").hexdigest()),
        InputFile(str(tmp_path / "missing.yaml"), None),
    )
    assert manifest.profile == ProfileRef("functional", "1.2", "ab" * 32)
    assert manifest.framework_version == lab.__version__
    assert manifest.hostname and manifest.finished is None
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path) == manifest
    finished = manifest.finish(exit_status=1)
    write_manifest(tmp_path, finished)
    restored = read_manifest(tmp_path)
    assert restored == finished and restored.exit_status == 1 and restored.finished is not None


def test_a_failed_rewrite_leaves_the_old_manifest_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Manifest.start(run_id="r1")
    write_manifest(tmp_path, first)

    def crash(*args: object) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        write_manifest(tmp_path, first.finish(exit_status=0))
    monkeypatch.undo()
    assert read_manifest(tmp_path) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_readers_never_see_a_partial_manifest(tmp_path: Path) -> None:
    big = Manifest.start(run_id="r1", selected_nodes=[f"node-{i:04d}" for i in range(3000)])
    write_manifest(tmp_path, big)
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                bad.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for index in range(30):
            write_manifest(tmp_path, big.finish(exit_status=index))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert bad == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "unreadable manifest"),
        ('{"run_id": "r", "started": "2026-11-25T12:00:00"}', "field 'started' has no time zone"),
        ('{"started": "2026-11-25T12:00:00+00:00"}', "missing field 'run_id'"),
        ('{"run_id": "r", "started": "2026-11-25T12:00:00+00:00", "exit_status": "0"}', "'exit_status'"),
    ],
)
def test_bad_manifest_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        read_manifest(tmp_path)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no manifest"):
        read_manifest(tmp_path)


def test_run_ids_sort_by_time_and_are_unique() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(run_id) == len("20261125T120000Z-abcdef") for run_id in ids)


SHA_A = "a" * 40
SHA_B = "b" * 40


def test_git_commit_follows_refs_packed_refs_and_detached_heads(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (git / "refs" / "heads" / "main").write_text(SHA_A + "\n", encoding="utf-8")
    deep = tmp_path / "lab" / "results"
    deep.mkdir(parents=True)
    assert git_commit(deep) == SHA_A
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text(f"# pack-refs\n{SHA_B} refs/heads/main\n", encoding="utf-8")
    assert git_commit(deep) == SHA_B
    (git / "HEAD").write_text(SHA_A + "\n", encoding="utf-8")
    assert git_commit(deep) == SHA_A


def test_git_commit_in_a_linked_worktree(tmp_path: Path) -> None:
    common = tmp_path / "repo" / ".git"
    linked = common / "worktrees" / "wt"
    (common / "refs" / "heads").mkdir(parents=True)
    linked.mkdir(parents=True)
    (common / "refs" / "heads" / "topic").write_text(SHA_B + "\n", encoding="utf-8")
    (linked / "HEAD").write_text("ref: refs/heads/topic\n", encoding="utf-8")
    (linked / "commondir").write_text("../..\n", encoding="utf-8")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {linked}\n", encoding="utf-8")
    assert git_commit(worktree) == SHA_B


def test_git_commit_outside_a_repository_is_none(tmp_path: Path) -> None:
    # tmp_path lives outside any checkout on CI and here; guard in case it does not
    if any((parent / ".git").exists() for parent in (tmp_path, *tmp_path.parents)):
        pytest.skip("tmp_path is inside a git checkout")
    assert git_commit(tmp_path) is None
