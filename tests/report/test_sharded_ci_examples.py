"""The sharded nightly examples: valid against their published schemas, every ``lab`` command real,
and the shard index/count each engine provides gives every shard exactly once.

* GitHub Actions and GitLab CI files against SchemaStore's ``github-workflow.json`` and GitLab's
  own ``.gitlab-ci.yml`` schema, as vendored (offline) by the ``check-jsonschema`` package;
* the Kubernetes Jobs deserialized into the official client's ``V1Job`` model and serialized back
  unchanged (a misspelled or misplaced field would be dropped on the way), with the pod failure
  policy checked against the ``lab`` exit-status contract.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRASTRUCTURE, build_parser
from lab.inventory.shard import ShardSpec, shard_from_env
from tests.report.test_ci_examples import _lab_commands, _scripts

CI = Path(__file__).resolve().parents[2] / "ci"
GITHUB = CI / "github-actions-sharded-nightly.yml"
GITLAB = CI / "gitlab-ci-sharded-nightly.yml"
KUBERNETES = CI / "kubernetes-sharded-nightly.yaml"


def _schema(name: str) -> dict[str, Any]:
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / name
    schema: dict[str, Any] = json.loads(vendor.read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize(("path", "schema"), [(GITHUB, "github-workflows.json"), (GITLAB, "gitlab-ci.json")])
def test_the_ci_files_match_their_published_schemas(path: Path, schema: str) -> None:
    import jsonschema

    data = _load(path)
    validator = jsonschema.Draft7Validator(_schema(schema))
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert problems == []


def test_the_schemas_do_reject_a_broken_file() -> None:
    import jsonschema

    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    data["nightly-shard"]["parallel"] = 500  # GitLab allows 2..200
    assert list(jsonschema.Draft7Validator(_schema("gitlab-ci.json")).iter_errors(data))
    github = _load(GITHUB)
    github["jobs"]["shard"]["timeout-minute"] = 5  # a typo of timeout-minutes
    assert list(jsonschema.Draft7Validator(_schema("github-workflows.json")).iter_errors(github))


def _load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # PyYAML reads YAML 1.1, where the key `on` is a boolean; GitHub reads it as "on"
        data["on"] = data.pop(True)
    return data


def _k8s_commands(job: dict[str, Any]) -> list[list[str]]:
    commands: list[list[str]] = []
    for container in job["spec"]["template"]["spec"]["containers"]:
        for script in container.get("args", []):
            commands += _lab_commands(re.sub(r"\bexec\s+", "", script))
    return commands


@pytest.mark.parametrize("path", [GITHUB, GITLAB, KUBERNETES])
def test_every_lab_command_in_the_sharded_examples_parses(path: Path) -> None:
    if path is KUBERNETES:
        commands = [c for job in yaml.safe_load_all(path.read_text()) for c in _k8s_commands(job)]
    else:
        commands = [command for script in _scripts(path) for command in _lab_commands(script)]
    assert ["campaign", "merge"] in [command[:2] for command in commands]
    assert any(command[:2] == ["history", "check"] for command in commands)
    parser = build_parser()
    for command in commands:
        parser.parse_args(command)  # SystemExit (a failed test) on any unknown command or option


def _every_shard(specs: list[ShardSpec | None]) -> None:
    assert all(spec is not None for spec in specs)
    count = len(specs)
    assert sorted((spec.number, spec.count) for spec in specs if spec) == [
        (n, count) for n in range(1, count + 1)
    ]


def test_github_matrix_variables_give_every_shard_once() -> None:
    job = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"]["shard"]
    assert job["env"]["LAB_SHARD_INDEX"] == "${{ matrix.shard }}"
    assert job["env"]["LAB_SHARD_COUNT"] == "${{ strategy.job-total }}"
    values = job["strategy"]["matrix"]["shard"]
    total = len(values)  # strategy.job-total of a one-axis matrix
    _every_shard([shard_from_env({"LAB_SHARD_INDEX": str(v), "LAB_SHARD_COUNT": str(total)}) for v in values])


def test_gitlab_parallel_gives_every_shard_once() -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["nightly-shard"]
    total = job["parallel"]
    _every_shard(
        [shard_from_env({"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(total)}) for i in range(1, total + 1)]
    )
    merge = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["nightly-merge"]
    assert merge["needs"] == ["nightly-shard"] and "parallel" not in merge


def _jobs() -> list[Any]:
    from kubernetes.client import ApiClient

    client = ApiClient()
    jobs = []
    for document in yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")):
        job = client.deserialize(json.dumps(document), "V1Job", "application/json")
        # nothing dropped or renamed: every field is one the Job API knows, where it belongs
        assert client.sanitize_for_serialization(job) == document
        jobs.append(job)
    return jobs


def test_the_kubernetes_indexed_job_is_a_valid_v1_job_with_per_index_retries() -> None:
    shards, merge = _jobs()
    spec = shards.spec
    assert (spec.completion_mode, spec.completions, spec.parallelism) == ("Indexed", 3, 3)
    assert spec.backoff_limit_per_index >= 1 and spec.max_failed_indexes is not None
    assert spec.template.spec.restart_policy == "Never"  # podFailurePolicy requires it
    (container,) = spec.template.spec.containers
    env = {item.name: item.value for item in container.env}
    assert env["LAB_SHARD_COUNT"] == str(spec.completions)
    _every_shard(
        [
            shard_from_env({"JOB_COMPLETION_INDEX": str(i), "LAB_SHARD_COUNT": env["LAB_SHARD_COUNT"]})
            for i in range(spec.completions)
        ]
    )
    assert merge.spec.completion_mode is None and merge.spec.backoff_limit == 0


def test_the_pod_failure_policy_retries_infrastructure_exits_but_not_test_failures() -> None:
    shards, _merge = _jobs()
    rules = shards.spec.pod_failure_policy.rules
    assert {rule.action for rule in rules} <= {"FailJob", "FailIndex", "Ignore", "Count"}  # the API's set
    containers = {c.name for c in shards.spec.template.spec.containers}
    by_exit: dict[int, str] = {}
    for rule in rules:
        if rule.on_exit_codes is not None:
            assert rule.on_exit_codes.operator == "In" and rule.on_exit_codes.container_name in containers
            for code in rule.on_exit_codes.values:
                by_exit.setdefault(code, rule.action)  # the first matching rule wins
    assert by_exit[EXIT_INFRASTRUCTURE] == "Count"  # retried, up to backoffLimitPerIndex
    assert by_exit[EXIT_FAILED] == "FailIndex"  # a verdict: never retried until it passes
    assert by_exit[EXIT_BAD_INPUT] == "FailJob"  # no retry can fix the inventory
    disruption = [r for r in rules if r.on_pod_conditions]
    assert disruption and disruption[0].action == "Ignore"
    assert disruption[0].on_pod_conditions[0].type == "DisruptionTarget"
    # --strict: a verdict other than PASS/MARGINAL exits 1, which the policy above never retries
    assert "--strict" in _k8s_commands(shards.to_dict())[0]
