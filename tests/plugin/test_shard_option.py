"""``--lab-shard`` and the CI engines' shard variables reach the plugin's node selection."""

from __future__ import annotations

import json

import pytest

from tests.plugin.conftest import write_fake_conftest

ARGS = (
    "--lab-inventory",
    "inventory.yaml",
    "--lab-no-lease",
    "--lab-run-dir",
    "run",
    "-p",
    "no:cacheprovider",
)
TESTS = """
def test_per_node(node):
    pass
"""


def _nodes(result: pytest.RunResult) -> set[str]:
    return {line.split("[", 1)[1].rstrip("]") for line in result.outlines if "::test_per_node[" in line}


def test_each_shard_collects_its_own_nodes_and_together_all(lab_project: pytest.Pytester) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(TESTS)
    parts = [
        _nodes(lab_project.runpytest("--collect-only", "-q", *ARGS, "--lab-shard", f"{k}/3"))
        for k in (1, 2, 3)
    ]
    assert all(len(part) == 1 for part in parts)
    assert set().union(*parts) == {"alpha", "beta", "gamma"}
    # grouping by operator: each of the three operators alone in its shard, same plan every time
    grouped = [
        _nodes(
            lab_project.runpytest(
                "--collect-only", "-q", *ARGS, "--lab-shard", f"{k}/3", "--lab-shard-by", "operator"
            )
        )
        for k in (1, 2, 3)
    ]
    assert sorted(map(sorted, grouped)) == [["alpha"], ["beta"], ["gamma"]]


def test_gitlab_parallel_variables_shard_a_plain_pytest_run_and_the_manifest_says_so(
    lab_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(TESTS)
    expected = _nodes(lab_project.runpytest("--collect-only", "-q", *ARGS, "--lab-shard", "2/3"))
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "3")
    result = lab_project.runpytest(*ARGS)
    result.assert_outcomes(passed=1)
    manifest = json.loads((lab_project.path / "run" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["selected_nodes"]) == expected
    shard = manifest["properties"]["shard"]
    assert (shard["number"], shard["count"], shard["source"], shard["of_nodes"]) == (2, 3, "gitlab", 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--lab-shard", "4/3"), "--lab-shard: shard 4/3: the shard number runs from 1 to 3"),
        (("--lab-shard", "1/2", "--lab-shard-by", "vendor"), "unknown shard grouping key vendor"),
        (("--lab-shard", "1/2", "--lab-shard-by", "operator"), "3 groups by operator"),
        (("--lab-shard-by", "site"), "--lab-shard-by needs --lab-shard K/N"),
    ],
)
def test_impossible_shards_are_usage_errors_not_tracebacks(
    lab_project: pytest.Pytester, arguments: tuple[str, ...], message: str
) -> None:
    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(TESTS)
    result = lab_project.runpytest("--collect-only", "-q", *ARGS, *arguments)
    assert result.ret != 0
    assert message in "\n".join(result.errlines + result.outlines)
    assert "Traceback" not in "\n".join(result.errlines + result.outlines)


def test_an_empty_shard_still_leaves_a_run_directory_that_merges(lab_project: pytest.Pytester) -> None:
    from lab.results import load_run
    from lab.results.shards import merge_shards

    write_fake_conftest(lab_project, "pass")
    lab_project.makepyfile(TESTS)
    for number in (1, 2, 3, 4):  # four shards of three nodes: one is empty
        run_dir = f"run-{number}"
        lab_project.runpytest(*ARGS[:-4], "--lab-run-dir", run_dir, *ARGS[-2:], "--lab-shard", f"{number}/4")
        assert (lab_project.path / run_dir / "manifest.json").is_file()
    merged = merge_shards([lab_project.path / f"run-{n}" for n in (1, 2, 3, 4)], lab_project.path / "merged")
    run = load_run(merged)
    assert sorted(record.node or "" for record in run.records) == ["alpha", "beta", "gamma"]
    assert run.complete
