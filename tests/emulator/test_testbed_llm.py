"""The emulated test-bed's LLM endpoints: timed from the catalog, faults from the inventory, stopped."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest

from lab.emulator.build import EmulatorConfigError, node_spec
from lab.emulator.llm_cards import card_for
from lab.emulator.llm_text import continuation
from lab.emulator.testbed.launcher import down, up
from lab.emulator.testbed.llm import endpoint_config
from lab.emulator.testbed.processes import alive
from lab.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
MODEL = "emulated-llama-3.1-8b"


def inventory(tmp_path: Path, nodes: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"""version: 1
name: t
catalog: {REPO / "inventory" / "devices.yaml"}
profiles: {REPO / "inventory" / "profiles"}
defaults:
  emulated: true
  user: lab
  operator: kt-cloud
groups:
  llm:
    vars: {{serving: {{address: "127.0.0.1:0", model: {MODEL}}}}}
nodes:
{nodes}"""
    )
    return path


def test_card_timing_follows_the_catalog_figures() -> None:
    catalog = load_inventory(REPO / "inventory" / "emulated.yaml").catalog
    rngd, precision, _ = card_for(catalog["rngd"])
    assert precision == "bf16"
    assert rngd.decode_step_s(1) == pytest.approx(16e9 / 1500e9, rel=0.02)  # 8B BF16 weights at 1.5 TB/s
    warboy, precision, _ = card_for(catalog["warboy"])
    assert precision == "int8"  # Warboy has no 16-bit peak
    assert warboy.decode_step_s(1) == pytest.approx(8e9 / 66e9, rel=0.02)
    atom, _, _ = card_for(catalog["atom-plus"])
    assert atom.decode_step_s(8) > atom.decode_step_s(1) > rngd.decode_step_s(1)
    _, _, source = card_for(catalog["sapeon-x220"])
    assert "no published" in source  # unpublished figures: the defaults, said so


def test_llm_faults_map_onto_the_endpoint_of_the_card_they_name(tmp_path: Path) -> None:
    loaded = load_inventory(
        inventory(
            tmp_path,
            """  - name: hot
    groups: [llm]
    accelerators: [{model: atom-plus, count: 2}]
    emulation:
      faults:
        - {kind: llm-decode-slowdown, device: 0, parameters: {after_busy_seconds: 2, factor: 3}}
        - {kind: llm-stream-cut, parameters: {after_tokens: 7}}
        - {kind: llm-wrong-tokens, device: 1}
""",
        )
    )
    config = endpoint_config(loaded.node("hot"), loaded.catalog)
    card = config["card"]
    assert isinstance(card, dict)
    assert (card["throttle_after_s"], card["throttle_factor"]) == (2.0, 3.0)
    # card 1's fault is not on the card serving (card 0); the node-wide cut is
    assert config["faults"] == {"cut_after_tokens": 7}
    assert config["cards"] == [0] and config["precision"] == "bf16"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("{kind: llm-stream-cut, after_seconds: 5}", "starts with the endpoint"),
        ("{kind: llm-decode-slowdown, parameters: {factor: 0.5}}", "factor must be >= 1"),
        ("{kind: llm-stream-cut, parameters: {after_tokens: many}}", "'after_tokens' must be a number"),
    ],
)
def test_bad_llm_fault_is_refused_before_anything_starts(tmp_path: Path, fault: str, message: str) -> None:
    loaded = load_inventory(
        inventory(
            tmp_path,
            f"""  - name: n1
    accelerators: [{{model: rngd, count: 1}}]
    emulation: {{faults: [{fault}]}}
""",
        )
    )
    with pytest.raises(EmulatorConfigError, match=message):
        node_spec(loaded.node("n1"), loaded.catalog, 0.0)


def _get(address: str, method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body) if body else None)
        data: dict[str, object] = json.loads(connection.getresponse().read())
        return data
    finally:
        connection.close()


@pytest.mark.integration
def test_testbed_serves_each_node_s_endpoint_and_stops_it_by_pid(tmp_path: Path) -> None:
    source = inventory(
        tmp_path,
        """  - name: ok-rngd
    accelerators: [{model: rngd, count: 1}]
    serving:
      address: "127.0.0.1:0"
      model: emulated-llama-3.1-8b
      models: {bf16: emulated-llama-3.1-8b, fp8: emulated-llama-3.1-8b-fp8}
  - name: bad-rngd
    groups: [llm]
    accelerators: [{model: rngd, count: 1}]
    emulation: {faults: [{kind: llm-wrong-tokens}]}
  - name: no-llm
    accelerators: [{model: h100-pcie, count: 1}]
""",
    )
    directory = tmp_path / "testbed"
    result = up(source, directory)
    try:
        resolved = load_inventory(result.resolved_inventory)
        assert resolved.node("no-llm").serving is None
        pids = {node.name: node.llm_pid for node in result.manifest.nodes}
        assert pids["no-llm"] == 0 and all(alive(pids[name]) for name in ("ok-rngd", "bad-rngd"))
        prompt = "Explain what a KV cache stores."
        expected, _ = continuation(prompt, 8)
        texts = {}
        for name in ("ok-rngd", "bad-rngd"):
            serving = resolved.node(name).serving
            assert serving is not None and not serving.address.endswith(":0")  # the port it bound
            models = _get(serving.address, "GET", "/v1/models")
            listed = [{"id": MODEL, "object": "model", "precision": "bf16"}]
            if name == "ok-rngd":  # its fp8 build too, and the resolved inventory still names both
                listed.append({"id": f"{MODEL}-fp8", "object": "model", "precision": "fp8"})
                assert dict(serving.models) == {"bf16": MODEL, "fp8": f"{MODEL}-fp8"}
            assert models["data"] == listed
            body: dict[str, object] = {"model": MODEL, "prompt": prompt, "max_tokens": 8}
            answer = _get(serving.address, "POST", "/v1/completions", body)
            choices = answer["choices"]
            assert isinstance(choices, list)
            texts[name] = choices[0]["text"].split()
        assert texts["ok-rngd"] == expected and texts["bad-rngd"] != expected
        truth = _get(str(resolved.node("ok-rngd").serving.address), "GET", "/ground_truth")  # type: ignore[union-attr]
        requests = truth["requests"]
        assert isinstance(requests, list) and requests[0]["tpot_s"] == pytest.approx(16e9 / 1500e9, rel=0.05)
    finally:
        down(directory)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(alive(pid) for pid in pids.values() if pid):
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids.values() if pid)


def test_serving_models_add_a_model_per_precision_timed_at_its_precision(tmp_path: Path) -> None:
    loaded = load_inventory(
        inventory(
            tmp_path,
            f"""  - name: two
    accelerators: [{{model: rngd, count: 1}}]
    serving: {{address: "127.0.0.1:0", model: {MODEL}, models: {{bf16: {MODEL}, fp8: {MODEL}-fp8}}}}
    emulation:
      faults: [{{kind: llm-decode-slowdown, parameters: {{after_busy_seconds: 2, factor: 3}}}}]
""",
        )
    )
    config = endpoint_config(loaded.node("two"), loaded.catalog)
    assert config["precision"] == "bf16"
    extra = config["models"]
    assert isinstance(extra, dict) and list(extra) == [f"{MODEL}-fp8"]
    fp8 = extra[f"{MODEL}-fp8"]
    assert fp8["precision"] == "fp8"
    # half the weights read per step (8-bit), and the hot card slows every model on it
    assert fp8["card"]["decode_base_s"] == pytest.approx(8e9 / 1500e9, rel=0.02)
    assert fp8["card"]["throttle_factor"] == 3.0


def test_a_precision_the_card_cannot_serve_stops_the_testbed_naming_the_key(tmp_path: Path) -> None:
    loaded = load_inventory(
        inventory(
            tmp_path,
            f"""  - name: old
    accelerators: [{{model: warboy, count: 1}}]
    serving: {{address: "127.0.0.1:0", model: {MODEL}, models: {{bf16: {MODEL}-bf16}}}}
""",
        )
    )
    from lab.emulator.testbed.manifest import TestbedError

    with pytest.raises(TestbedError, match=r"old: serving\.models\.bf16: warboy has no 16-bit peak"):
        endpoint_config(loaded.node("old"), loaded.catalog)
