"""The device catalog and certification profiles are validated like inventories, with file:line."""

from __future__ import annotations

from pathlib import Path

from lab.inventory import load_inventory
from lab.inventory.model import Axis
from tests.inventory.conftest import REPO, problems_of

INVENTORY = """\
version: 1
name: t
defaults: {user: lab, operator: kt-cloud, emulated: true}
nodes:
  - {name: a, accelerators: [{model: npu-x, count: 1}], profile: p1}
"""

FIGURE = "{value: 1, source: s, confidence: P}"


def _lab(tmp_path: Path, catalog: str, profile: str | None = None) -> Path:
    (tmp_path / "devices.yaml").write_text(catalog, encoding="utf-8")
    if profile is not None:
        (tmp_path / "profiles").mkdir()
        (tmp_path / "profiles" / "p1.yaml").write_text(profile, encoding="utf-8")
    path = tmp_path / "lab.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def _catalog(device: str) -> str:
    return f"version: 1\ndevices:\n  npu-x:\n{device}"


GOOD_DEVICE = f"""\
    vendor: rebellions
    name: X
    tool: rbln-smi
    product_name: RBLN-X
    pcie: Gen5 x16
    int8_tops: {FIGURE}
    fp16_tflops: {FIGURE}
    memory_gib: {FIGURE}
    memory_bandwidth_gbps: {FIGURE}
    tdp_watts: {{value: null, source: unknown, confidence: U}}
"""

GOOD_PROFILE = """\
name: p1
version: 1.10
description: d
criteria:
  speed:
    axis: performance
    unit: samples/s
    description: throughput
    min: 10
    marginal: 0.1
    by_device: {npu-x: {min: 20}}
"""


def test_catalog_and_profile_defaults_beside_the_inventory(tmp_path: Path) -> None:
    path = _lab(tmp_path, _catalog(GOOD_DEVICE), GOOD_PROFILE)
    inventory = load_inventory(path)
    model = inventory.catalog["npu-x"]
    assert model.tdp_watts.value is None and model.tdp_watts.unit == "W"
    profile = inventory.profiles["p1"]
    assert profile.version == "1.10"  # written unquoted, kept as text
    criterion = profile.criteria["speed"]
    assert criterion.axis is Axis.PERFORMANCE
    assert criterion.limits_for("npu-x").minimum == 20.0
    assert criterion.limits_for("npu-x").marginal == 0.1  # inherited from the criterion
    assert criterion.limits_for("other").minimum == 10.0


def test_catalog_mistakes_are_located(tmp_path: Path) -> None:
    device = (
        GOOD_DEVICE.replace("vendor: rebellions", "vendor: rebelions")
        .replace("pcie: Gen5 x16", "pcie: PCIe5")
        .replace(
            "fp16_tflops: {value: 1, source: s, confidence: P}", "fp16_tflops: {value: 1, confidence: X}"
        )
    )
    path = _lab(tmp_path, _catalog(device), GOOD_PROFILE)
    catalog = str(tmp_path / "devices.yaml")
    assert problems_of(path) == [
        f"{catalog}:4:13: devices.npu-x.vendor: 'rebelions' is not one of furiosaai, rebellions, sapeon, "
        "nvidia, cpu (did you mean 'rebellions'?)",
        f"{catalog}:8:11: devices.npu-x.pcie: 'PCIe5' is not a PCIe link such as 'Gen5 x16' (generation 1-6, "
        "width 1/2/4/8/12/16/32)",
        f"{catalog}:10:18: devices.npu-x.fp16_tflops: missing required key 'source'",
        f"{catalog}:10:41: devices.npu-x.fp16_tflops.confidence: 'X' is not one of P, S, U",
    ]


def test_profile_mistakes_are_located(tmp_path: Path) -> None:
    profile = """\
name: p2
version: "1"
description: d
criteria:
  speed: {axis: speed, unit: x, min: 5}
  power: {axis: stability, unit: W, min: 9, max: 3, by_device: {npu-y: {max: 1}}}
  empty: {axis: stability, unit: W, description: nothing to judge}
"""
    path = _lab(tmp_path, _catalog(GOOD_DEVICE), profile)
    file = str(tmp_path / "profiles" / "p1.yaml")
    assert problems_of(path) == [
        f"{file}:1:7: name: profile name 'p2' differs from its file name 'p1.yaml'",
        f"{file}:5:10: criteria.speed: missing required key 'description'",
        f"{file}:5:17: criteria.speed.axis: 'speed' is not one of compatibility, stability, usability, "
        "scalability, performance",
        f"{file}:6:10: criteria.power: missing required key 'description'",
        f"{file}:7:10: criteria.empty: a criterion needs min, max or expected (or by_device limits, "
        "or informational: true)",
    ]


def test_repository_catalog_matches_domain_reference() -> None:
    catalog = load_inventory(REPO / "inventory" / "gwangju.yaml").catalog
    expected_int8 = {
        "warboy": 64,
        "rngd": 512,
        "atom": 128,
        "atom-plus": 128,
        "atom-plus-ca22": 128,
        "atom-max": 512,
        "a100-80gb-pcie": 624,
        "h100-pcie": 1513,
        "l40s": 733,
        "t4": 130,
        "l40": None,  # the K-Cloud team's GPUs (lab inventory import): peaks not in domain.md
        "a40": None,
        "sapeon-x220": None,
        "sapeon-x330": None,
        "cpu-x86-64": None,  # the CPU reference's host processor: no accelerator peak
        "rebel-cr13": None,  # REBEL: named by rbln-smi's docs, no published figure
        "rebel-cr03": None,  # REBEL: named by Rebellions' PCI id list, no published figure
        "rebel-cr23": None,
        "rngd-s": None,  # RNGD variants: named by furiosa-feature-discovery, no published figure
        "rngd-max": None,
    }
    assert {key: model.int8_tops.value for key, model in catalog.items()} == expected_int8
    products = {key: model.product_name for key, model in catalog.items() if model.vendor == "rebellions"}
    assert products == {
        "atom": "RBLN-CA02",
        "atom-plus": "RBLN-CA12",
        "atom-plus-ca22": "RBLN-CA22",
        "atom-max": "RBLN-CA25",
        "rebel-cr13": "RBLN-CR13",
        "rebel-cr03": "RBLN-CR03",
        "rebel-cr23": "RBLN-CR23",
    }
    furiosa = {key: model.product_name for key, model in catalog.items() if model.tool == "furiosa-smi"}
    assert furiosa == {"rngd": "rngd", "rngd-s": "rngd_s", "rngd-max": "rngd_max"}
    for model in catalog.values():
        for figure in (model.int8_tops, model.fp16_tflops, model.memory_gib, model.tdp_watts):
            assert figure.source and figure.confidence in ("P", "S", "U")


def test_repository_profile_has_every_criterion_family() -> None:
    profile = load_inventory(REPO / "inventory" / "emulated.yaml").profiles["kcloud-npu-v1"]
    names = set(profile.criteria)
    assert {
        "device-enumeration",
        "pcie-link",
        "device-health",
        "memory-capacity",
        "process-isolation",
    } <= names
    assert {"offline-throughput", "singlestream-p90-latency", "server-max-qps", "multi-card-scaling"} <= names
    assert {"uncorrectable-errors", "throughput-drift", "card-spread", "power-stability"} <= names
    assert profile.criteria["multi-card-scaling"].limits.minimum == 0.9
    assert profile.criteria["card-spread"].limits.maximum == 0.10
    assert profile.criteria["memory-capacity"].limits_for("rngd").minimum == 46.0
    assert profile.criteria["memory-capacity"].limits_for("sapeon-x220").minimum is None
    assert "PROVISIONAL" in profile.criteria["offline-throughput"].description
    assert profile.settings["soak_seconds"] == 86400
