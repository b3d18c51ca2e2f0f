"""``lab inventory ...`` through ``lab.cli.main``: exit statuses and what people read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cli import main
from lab.inventory import load_inventory
from tests.inventory.conftest import KEY_A, NODE_HEAD, REPO, WriteInventory

GWANGJU = str(REPO / "inventory" / "gwangju.yaml")
EMULATED = str(REPO / "inventory" / "emulated.yaml")


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "check", GWANGJU, EMULATED]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{GWANGJU}: OK: 26 nodes, 152 accelerators", f"{EMULATED}: OK: 10 nodes, 18 accelerators"]


def test_check_bad_file_exits_2_and_still_checks_the_others(
    write_inventory: WriteInventory, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_inventory(NODE_HEAD + "nodes:\n  - {name: a, address: 192.0.2.1, trust: strct}\n")
    assert main(["inventory", "check", str(bad), EMULATED]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{bad}:8:42: nodes[0].trust: 'strct' is not one of strict, bring-up (did you mean 'strict'?)",
        f"{bad}: 1 problem found.",
    ]
    assert captured.out == f"{EMULATED}: OK: 10 nodes, 18 accelerators\n"
    assert "Traceback" not in captured.err


def test_show_table_with_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", GWANGJU, "--select", "vendor=rebellions and operator=kt-cloud"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "ADDRESS",
        "OPERATOR",
        "SITE/RACK",
        "ACCELERATORS",
        "AUTH",
        "VIA",
        "TAGS",
    ]
    assert lines[1].split() == [
        "kt-rbln-01",
        "192.0.2.11:22",
        "kt-cloud",
        "gwangju-kt/kt-r01",
        "8×",
        "atom-plus",
        "key",
        "kt-bastion",
        "npu,rebellions",
    ]
    assert lines[-1] == "4 nodes, 32 accelerators"


def test_show_json_never_prints_secrets(
    write_inventory: WriteInventory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_CLI_SECRET", "do-not-print-me")
    path = write_inventory(
        NODE_HEAD + "nodes:\n  - {name: a, address: 192.0.2.1, auth: {password: !env LAB_CLI_SECRET}}\n"
    )
    assert main(["inventory", "show", str(path), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "do-not-print-me" not in out
    node = json.loads(out)["nodes"][0]
    assert node["auth"] == {"method": "password", "password_env": "LAB_CLI_SECRET"}
    assert node["host_key"]["pinned"] == [KEY_A]


def test_show_bad_selection_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", GWANGJU, "--select", "vendor=(x"]) == 2
    assert "selection: expected a value after vendor= at position 8" in capsys.readouterr().err


def test_capacity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "capacity", GWANGJU]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Peak capacity of gwangju-public ({GWANGJU})")
    assert "  sapeon                     64   unknown (64 cards without a figure)" in out
    assert "This file describes only the public Gwangju half" in out
    assert "39.98 PF" in out


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["required"] == ["version", "name"]
    assert main(["inventory", "schema", "--kind", "catalog"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "kcloud-lab device catalog"


def test_check_recognises_the_catalog_and_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = str(REPO / "inventory" / "devices.yaml")
    profile = str(REPO / "inventory" / "profiles" / "kcloud-npu-v1.yaml")
    assert main(["inventory", "check", catalog, profile]) == 0
    out = capsys.readouterr().out
    models = len(load_inventory(EMULATED).catalog)  # the same catalog, read through an inventory
    assert f"devices.yaml: OK: device catalog, {models} models" in out
    assert "kcloud-npu-v1.yaml: OK: certification profile kcloud-npu-v1" in out


def test_a_broken_catalog_or_profile_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (REPO / "inventory" / "devices.yaml").read_text(encoding="utf-8")
    (tmp_path / "devices.yaml").write_text(
        text.replace("vendor: nvidia", "vendor: nvida", 1), encoding="utf-8"
    )
    (tmp_path / "profiles").mkdir()
    profile = (REPO / "inventory" / "profiles" / "kcloud-npu-v1.yaml").read_text(encoding="utf-8")
    (tmp_path / "profiles" / "kcloud-npu-v1.yaml").write_text(
        profile.replace("      warboy: {min: 3000}", "      warboyy: {min: 3000}", 1), encoding="utf-8"
    )
    paths = [str(tmp_path / "devices.yaml"), str(tmp_path / "profiles" / "kcloud-npu-v1.yaml")]
    status = main(["inventory", "check", *paths])
    err = capsys.readouterr().err
    assert status == 2
    assert "devices.yaml:" in err and "'nvida' is not one of" in err and "did you mean 'nvidia'" in err
    assert "kcloud-npu-v1.yaml:" in err and "warboyy" in err


def test_check_of_a_profile_lists_every_model_without_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "devices.yaml").write_text((REPO / "inventory" / "devices.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "profiles").mkdir()
    profile = tmp_path / "profiles" / "p1.yaml"
    profile.write_text(
        """\
name: p1
version: "1"
description: d
criteria:
  memory:
    axis: compatibility
    unit: GiB
    description: device memory
    by_device: {rngd: {min: 46}}
    not_applicable: {cpu-x86-64: host memory}
  temperature: {axis: stability, unit: °C, description: t, max: 85}
  fan: {axis: stability, unit: rpm, description: f, informational: true}
""",
        encoding="utf-8",
    )
    assert main(["inventory", "check", str(profile)]) == 0  # valid: missing limits are listed, not fatal
    out = capsys.readouterr().out.splitlines()
    catalog = load_inventory(EMULATED).catalog
    expected = sorted(set(catalog) - {"rngd", "cpu-x86-64"})
    listed = [line for line in out if "no limit for" in line]
    assert [line.split("no limit for ")[1].split(" ")[0] for line in listed] == expected
    assert all(line.startswith(f"{profile}:5:3: criteria.memory: ") for line in listed)
    assert "SKIP, uncertified" in listed[0]
    assert out[-1].endswith(f"{len(expected)} model limits missing (listed above)")


def test_check_of_the_shipped_profile_lists_models_without_published_figures() -> None:
    # Sapeon publishes no figures at all; REBEL CR03/CR13/CR23, RNGD-S and RNGD-Max have none public yet:
    # their cards can be measured but not certified on these criteria
    from lab.inventory.documents import check_profile_limits

    _summary, lines = check_profile_limits(REPO / "inventory" / "profiles" / "kcloud-npu-v1.yaml")
    missing = {
        (line.split("criteria.")[1].split(":")[0], line.split("no limit for ")[1].split(" ")[0])
        for line in lines
    }
    assert missing == {
        (criterion, model)
        for criterion in ("memory-capacity", "offline-throughput", "server-max-qps")
        for model in (
            "sapeon-x220",
            "sapeon-x330",
            "rebel-cr13",
            "rebel-cr03",
            "rebel-cr23",
            "rngd-s",
            "rngd-max",
            "l40",  # K-Cloud's GPUs
            "a40",
        )
    } | {
        # LLM tokens/s is judged only where a Llama-3.1-8B serving figure is published (K-Cloud's
        # canonical run: RNGD, ATOM+, L40, A40; the CPU reference node has a sanity floor)
        ("llm-offline-tokens-per-second", model)
        for model in sorted(
            set(load_inventory(EMULATED).catalog)
            - {"rngd", "atom-plus", "atom-plus-ca22", "l40", "a40", "cpu-x86-64"}
        )
    }


def test_not_applicable_names_catalog_models_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "devices.yaml").write_text((REPO / "inventory" / "devices.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "profiles").mkdir()
    profile = tmp_path / "profiles" / "p1.yaml"
    profile.write_text(
        'name: p1\nversion: "1"\ndescription: d\ncriteria:\n'
        "  t: {axis: stability, unit: C, description: t, max: 85, not_applicable: {rngdd: why}}\n",
        encoding="utf-8",
    )
    assert main(["inventory", "check", str(profile)]) == 2
    err = capsys.readouterr().err
    assert f"{profile}:5:" in err and "criteria.t.not_applicable.rngdd: unknown device model 'rngdd'" in err
    assert "did you mean 'rngd'" in err
