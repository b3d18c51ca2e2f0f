"""`lab inventory import`: their published cluster description becomes a valid inventory of ours.

The file under data/ is openkcloud/kcloud-mlperf's config/cluster.yaml (data/SOURCE.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.errors import InventoryError
from lab.inventory.loader import load_inventory
from lab.kcloud.cluster import import_cluster

DATA = Path(__file__).parent / "data"
CLUSTER = DATA / "cluster.yaml"
CATALOG = str(Path(__file__).parents[2] / "inventory" / "devices.yaml")


def _write(tmp_path: Path, text: str, name: str = "cluster.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_their_cluster_imports_into_a_valid_inventory(tmp_path: Path) -> None:
    result = import_cluster(CLUSTER, catalog=CATALOG)
    out = _write(tmp_path, result.yaml_text(), "kcloud.yaml")
    inventory = load_inventory(out)  # the real loader: schema, catalog, host-key rules
    nodes = {node.name: node for node in inventory.nodes}
    assert sorted(nodes) == ["node1", "node2", "node3", "node4", "node5"]
    cards = {
        name: sorted((spec.model, spec.count) for spec in node.accelerators) for name, node in nodes.items()
    }
    assert cards == {
        "node1": [],
        "node2": [("a40", 1), ("l40", 1)],
        "node3": [("a40", 1), ("l40", 1)],  # "L40-44GiB + A40-44GiB": the size suffix is not a model
        "node4": [("rngd", 1)],
        "node5": [("atom-plus", 2)],
    }
    # node4 and node5 override their default_port 122 with 22
    assert {name: node.port for name, node in nodes.items()} == {
        "node1": 122, "node2": 122, "node3": 122, "node4": 22, "node5": 22,
    }  # fmt: skip
    assert nodes["node5"].labels["npu-model"] == "atomplus"
    assert nodes["node5"].labels["kcloud.state"] == "active"
    assert nodes["node3"].labels["kcloud.accelerator-model"] == "L40-44GiB + A40-44GiB"
    assert "kcloud-master" in nodes["node1"].tags and "kcloud-worker" in nodes["node4"].tags
    assert nodes["node2"].auth.password_env == "SUDO_PASS"  # the variable's name, never a value
    assert nodes["node2"].host_key.known_hosts is not None and not nodes["node2"].host_key.pinned


def test_every_field_not_mapped_is_reported_with_its_line() -> None:
    result = import_cluster(CLUSTER, catalog=CATALOG)
    lines = CLUSTER.read_text(encoding="utf-8").splitlines()
    reported = {item.path: item.line for item in result.unmapped}
    assert set(reported) == {"kubeconfig", "namespaces", "images", "targets", "future_models"}
    for key, line in reported.items():
        assert lines[line - 1].startswith(f"{key}:"), (key, line)
    text = result.yaml_text()
    assert text.count("# NOT MAPPED: ") == 5 and "SUDO_PASS" in text


def test_unknown_node_fields_are_reported_not_dropped(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "cluster_name: c\nworkers:\n  - name: n1\n    gpu_clock: 1800\n"
        "    accelerator: { type: npu, vendor: furiosa, model: RNGD, count: 2, firmware: '1.11.0' }\n"
        "    ssh: { host: 192.0.2.5, port: 22, jump: bastion }\n"
        "    labels: { furiosa.ai/npu.family: rngd, ok: yes }\n",
    )
    result = import_cluster(path, catalog=CATALOG)
    reported = {item.path: item.line for item in result.unmapped}
    assert reported == {
        "workers[0](n1).gpu_clock": 4,
        "workers[0](n1).accelerator.firmware": 5,
        "workers[0](n1).ssh.jump": 6,
        "workers[0](n1).labels.furiosa.ai/npu.family": 7,
    }
    node = result.document["nodes"][0]
    assert node["accelerators"] == [{"model": "rngd", "count": 2}] and node["labels"]["ok"] is True


@pytest.mark.parametrize(
    ("policy", "per_card"), [("dual-core", 4), ("quad-core", 2), ("single-core", 8), ("none", 1)]
)
def test_rngd_partitions_stay_apart_from_physical_cards(tmp_path: Path, policy: str, per_card: int) -> None:
    path = _write(
        tmp_path,
        "apiVersion: npu.ai/v1alpha1\nkind: NPUClusterPolicy\nmetadata: {name: p}\n"
        f"spec:\n  furiosa:\n    enabled: true\n    rngd:\n      partitionPolicy: {policy}\n",
        "policy.yaml",
    )
    result = import_cluster(CLUSTER, policy=path, catalog=CATALOG)
    node4 = next(node for node in result.document["nodes"] if node["name"] == "node4")
    assert node4["accelerators"] == [{"model": "rngd", "count": 1}]  # one card, whatever the policy
    assert node4["labels"]["furiosa.instances"] == per_card
    assert node4["labels"]["furiosa.partition-policy"] == policy
    node5 = next(node for node in result.document["nodes"] if node["name"] == "node5")
    assert not any(key.startswith("furiosa.") for key in node5["labels"])  # only RNGD cards are partitioned
    inventory = load_inventory(_write(tmp_path, result.yaml_text(), "kcloud.yaml"))
    assert sum(node.device_count for node in inventory.nodes) == 7


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "workers:\n  - name: n1\n    accelerator: {type: npu, vendor: furiosa, model: RNGDD, count: 1}\n"
            "    ssh: {host: 192.0.2.1}\n",
            3,
            "unknown accelerator model 'RNGDD' (did you mean 'rngd'?)",
        ),
        (
            "workers:\n  - name: n1\n    accelerator: {type: gpu, model: L40 + A40, count: 3}\n"
            "    ssh: {host: 192.0.2.1}\n",
            3,
            "3 cards cannot be split over 2 models",
        ),
        (
            "workers:\n  - name: n1\n    accelerator: {type: gpu, model: L40, count: two}\n"
            "    ssh: {host: 192.0.2.1}\n",
            3,
            "expected a whole number",
        ),
        ("workers:\n  - name: n1\n    ssh: {port: 22}\n", 3, "no address"),
        ("workers: {name: n1}\n", 1, "expected a list of nodes"),
    ],
)
def test_bad_input_names_file_line_and_a_suggestion(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InventoryError) as caught:
        import_cluster(path, catalog=CATALOG)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(message.startswith(f"{path}:{line}:") and words in message for message in messages), messages


def test_cli_writes_the_inventory_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "kcloud.yaml"
    lab = [sys.executable, "-m", "lab", "inventory", "import"]
    done = subprocess.run(
        [*lab, str(CLUSTER), "-o", str(out), "--catalog", CATALOG], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "imported 5 nodes, 7 physical accelerators" in done.stderr
    assert "5 fields not mapped" in done.stderr and ":89:1: targets: not mapped" in done.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["name"] == "etri-llm-bench"
    bad = _write(
        tmp_path, "workers:\n  - name: n1\n    accelerator: {model: Gaudi, count: 1}\n    ssh: {host: a}\n"
    )
    failed = subprocess.run([*lab, str(bad)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2 and f"{bad}:3:" in failed.stderr and failed.stdout == ""


def test_their_head_template_rendered_gives_npu_workers_the_npu_port(tmp_path: Path) -> None:
    # the shape of kcloud-mlperf@eb881eb benchmarks/deploy/platform/cluster.yaml.tmpl, rendered as their
    # stages.sh renders it (values ours); an unrendered copy is refused with the hint to render it
    rendered = (
        "cluster_name: kcloud-stack\nkubeconfig: ~/.kube/config\nssh:\n  default_port: 122\n  npu_port: 22\n"
        "control_plane:\n  - name: node1\n    role: master\n"
        "    accelerator: { type: cpu, vendor: intel, count: 0 }\n"
        "    ssh: { host: 192.0.2.41, port: 122 }\nworkers:\n"
        "  - name: node4\n    role: worker\n"
        "    accelerator: { type: npu, vendor: furiosa, model: RNGD, count: 1 }\n"
        "    ssh: { host: 192.0.2.114 }\n"
        "  - name: node2\n    role: worker\n"
        "    accelerator: { type: gpu, vendor: nvidia, model: L40, count: 1 }\n"
        "    ssh: { host: 192.0.2.195 }\n"
        "namespaces:\n  app: llm-evaluation\n"
    )
    result = import_cluster(_write(tmp_path, rendered), catalog=CATALOG)
    assert {node["name"]: node["port"] for node in result.document["nodes"]} == {
        "node1": 122, "node4": 22, "node2": 122,
    }  # fmt: skip
    assert {item.path for item in result.unmapped} == {"kubeconfig", "namespaces"}
    template = _write(
        tmp_path, rendered.replace("default_port: 122", "default_port: ${SSH_PORT_CP}"), "t.yaml"
    )
    with pytest.raises(InventoryError, match=r"t.yaml:4:\d+: ssh.default_port: .*unrendered template"):
        import_cluster(template, catalog=CATALOG)
