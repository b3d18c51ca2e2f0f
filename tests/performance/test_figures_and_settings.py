"""Derived figures, profile settings, backend choice and the agent's request checks."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from lab.agent.protocol import Request, RequestError
from lab.errors import InventoryError
from lab.inventory import load_inventory
from lab.inventory.model import AcceleratorSpec
from lab.performance.backend_choice import choose_backend
from lab.performance.figures import efficiency, peak_fraction, scaling
from lab.performance.host_busy import computes_on_this_machine
from lab.performance.requirements import LOADGEN_PIN, requirements_for
from lab.performance.settings import PerfSettings
from tests.conftest import make_node

from .conftest import REPOSITORY


def test_efficiency_is_samples_per_second_per_board_watt() -> None:
    assert efficiency(5000.0, 125.0) == pytest.approx(40.0)
    assert efficiency(5000.0, None) is None  # no power telemetry: not computable, never 0
    assert efficiency(5000.0, 0.0) is None


def test_peak_fraction_needs_a_known_peak() -> None:
    # ResNet-50: 8.2 GOPs per sample; 5000 samples/s on a 128-TOPS card is 32 % of its peak
    assert peak_fraction(5000.0, 8.2e9, 128.0) == pytest.approx(0.3203125)
    assert peak_fraction(5000.0, 8.2e9, None) is None
    assert peak_fraction(5000.0, None, 128.0) is None


def test_scaling_ratio() -> None:
    assert scaling(9800.0, 5000.0, 2) == pytest.approx(0.98)
    with pytest.raises(ValueError):
        scaling(1.0, 0.0, 2)


def test_profile_settings_and_short_runs() -> None:
    profile = load_inventory(REPOSITORY / "inventory" / "emulated.yaml").profiles["kcloud-npu-v1"]
    full = PerfSettings.from_profile(profile.settings)
    assert full.duration_s == 600 and not full.short_run
    assert full.singlestream_queries == 1024 and full.telemetry_interval_s == 1.0
    assert full.server_bound_ms == 15
    assert (
        full.batch == profile.settings["offline_batch"]
        and full.server_batch == profile.settings["server_batch"]
    )
    chosen = PerfSettings.from_profile({"offline_batch": 32, "server_batch": 4})
    assert (chosen.batch, chosen.server_batch) == (32, 4)
    defaults = PerfSettings.from_profile({})
    assert (defaults.batch, defaults.server_batch) == (8, 8)
    short = PerfSettings.from_profile(profile.settings, duration_override=2.0)
    assert short.short_run and short.duration_s == 2.0
    assert short.telemetry_interval_s == 0.5  # a quarter of the run: samples land inside the window
    assert short.singlestream_queries == 100 and short.multistream_queries == 700


def test_bad_profile_setting_is_an_inventory_error() -> None:
    with pytest.raises(InventoryError, match=r"settings\.performance_seconds"):
        PerfSettings.from_profile({"performance_seconds": "ten minutes"}, profile="p.yaml")


def test_backend_choice_follows_the_inventory() -> None:
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    emulated = choose_backend(inventory.node("emu-kt-rbln-01"), inventory.catalog)
    assert emulated.name == "emulated" and emulated.python == sys.executable
    assert "PYTHONPATH" in emulated.environment and emulated.reason == "emulated node"
    real = dataclasses.replace(inventory.node("emu-kt-rbln-01"), emulated=False)
    rebel = choose_backend(real, inventory.catalog)
    assert (rebel.name, rebel.reason) == ("rebel", "default for vendor rebellions")
    nvidia = dataclasses.replace(inventory.node("emu-nhn-ref-01"), emulated=False)
    assert choose_backend(nvidia, inventory.catalog).name == "onnxruntime-cuda"
    for node, arch in (("emu-kt-warboy-01", "warboy"), ("emu-naver-rngd-01", "rngd")):
        furiosa = dataclasses.replace(
            inventory.node(node),
            emulated=False,
            labels={"perf-inputs-path": "/data/in.npy", "perf-model-path": "/m.enf"},
        )
        chosen = choose_backend(furiosa, inventory.catalog)
        assert chosen.name == "furiosa"
        assert chosen.options == {"arch": arch, "inputs_path": "/data/in.npy", "model_path": "/m.enf"}
    labelled = make_node(labels={"perf-backend": "onnxruntime-cpu", "perf-python": "/opt/py/bin/python"})
    cpu = choose_backend(labelled, inventory.catalog)
    assert (cpu.name, cpu.python) == ("onnxruntime-cpu", "/opt/py/bin/python")
    host_cpu = make_node(emulated=False, accelerators=(AcceleratorSpec("cpu-x86-64", 1),))
    assert choose_backend(host_cpu, inventory.catalog).name == "onnxruntime-cpu"  # by the catalog's vendor
    sapeon = dataclasses.replace(inventory.node("emu-nhn-x220-01"), emulated=False)
    assert choose_backend(sapeon, inventory.catalog).name == "sapeon"  # which refuses, saying why
    mixed = make_node(
        emulated=False, accelerators=(AcceleratorSpec("rngd", 1), AcceleratorSpec("h100-pcie", 1))
    )
    with pytest.raises(InventoryError, match="perf-backend"):
        choose_backend(mixed, inventory.catalog)
    with pytest.raises(InventoryError, match="unknown backend 'tpu'"):
        choose_backend(make_node(labels={"perf-backend": "tpu"}), inventory.catalog)


@pytest.mark.parametrize(
    ("address", "emulated", "local"),
    [
        ("192.0.2.10", True, True),  # an emulated node computes here whatever its address
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("localhost", False, True),
        ("192.0.2.10", False, False),
        ("rngd-node-03.lab", False, False),
    ],
)
def test_loadgen_runs_take_turns_only_on_nodes_sharing_this_machines_cores(
    address: str, emulated: bool, local: bool
) -> None:
    assert computes_on_this_machine(make_node(address=address, emulated=emulated)) is local


def test_requirements_pin_loadgen() -> None:
    assert LOADGEN_PIN == "mlcommons-loadgen==6.0.17"
    assert [r.module for r in requirements_for("onnxruntime-cpu")] == [
        "mlperf_loadgen",
        "onnxruntime",
        "numpy",
    ]
    assert requirements_for("rebel")[1].spec == ""  # vendor SDK: reported, never pip-installed
    with pytest.raises(ValueError):
        requirements_for("tpu")


def _request(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "scenario": "Offline",
        "backend": {"name": "emulated", "options": {}},
        "output_dir": "/tmp/x",
        "min_duration_s": 2,
    }
    data.update(changes)
    return data


def test_agent_request_accepts_a_good_request_and_flags_short_runs() -> None:
    request = Request(_request())
    assert request.scenario == "Offline" and request.devices == [0] and request.short_run
    assert not Request(_request(min_duration_s=600)).short_run


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenario": "Batch"}, "scenario must be one of"),
        ({"backend": "emulated"}, "backend must be an object"),
        ({"devices": []}, "devices must be"),
        ({"devices": [True]}, "devices must be"),
        ({"min_duration_s": -1}, "min_duration_s must be"),
        ({"scenario": "Server"}, "needs target_qps"),
        ({"telemetry": {"commands": "rbln-smi"}}, "telemetry.commands"),
        ({"output_dir": ""}, "output_dir"),
    ],
)
def test_agent_request_refuses_bad_fields(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        Request(_request(**changes))
