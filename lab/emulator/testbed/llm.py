"""An emulated node's LLM endpoint: its config from the inventory and catalog, started and found by pid.

A node with ``serving:`` in the inventory gets a real HTTP server
(:mod:`lab.emulator.llm_server`) whose timing is its card's (:mod:`lab.emulator.llm_cards`)
and whose faults are the node's ``llm-*`` faults. Port 0 in ``serving.address`` lets the
test-bed pick a free port (the resolved inventory names it); any other port is bound as given.

::

    config = endpoint_config(node, catalog)      # {"model", "precision", "card", "faults", "cards", "models"}
    process = start_endpoint(node_dir, config, port=0)
    process.pid, process.port
    is_endpoint(process.pid, node_dir)           # still ours (not a recycled pid)?

Fault parameters: ``llm-decode-slowdown`` ``{after_busy_seconds: 1, factor: 4}`` (decoding
slows once the engine has been busy that long: a card throttling when hot);
``llm-stream-cut`` ``{after_tokens: 5}``; ``llm-wrong-tokens``; ``llm-served-elsewhere``
``{card: N}`` (the work lands on card N, default the next one, not on ``serving.cards``: what
the suite's proof of silicon must catch). A fault naming a ``device`` applies only when the
endpoint serves that card.

``serving.models`` (precision → model name) adds a model per precision, each timed at its
precision (:func:`lab.emulator.llm_cards.card_for`); a precision the card cannot serve
(Warboy: no 16-bit peak) stops ``up`` with the inventory key to fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.emulator.defaults import NODE_DIR_ENV
from lab.emulator.faults import ActiveFault
from lab.emulator.llm_cards import UnsupportedPrecision, card_for
from lab.emulator.testbed.manifest import TestbedError
from lab.emulator.testbed.nodes import lab_source_root
from lab.emulator.testbed.processes import command_line, stop_pids
from lab.inventory.model import DeviceModel, Node

START_SECONDS = 15.0
SLOWDOWN_AFTER_BUSY_S = 1.0
SLOWDOWN_FACTOR = 4.0
CUT_AFTER_TOKENS = 5
MODULE = "lab.emulator.llm_server"


@dataclass(frozen=True)
class EndpointProcess:
    pid: int
    port: int


def config_path(node_dir: Path) -> Path:
    return node_dir / "llm" / "config.json"


def requested_port(node: Node) -> int:
    """The port ``serving.address`` names (0: the test-bed chooses)."""
    assert node.serving is not None
    return int(node.serving.address.rsplit(":", 1)[1])


def endpoint_config(node: Node, catalog: Mapping[str, DeviceModel]) -> dict[str, object]:
    """The endpoint's config for emulated ``node`` (which must declare ``serving:``)."""
    if node.serving is None or not node.accelerators:
        raise TestbedError(f"{node.name}: no serving endpoint or no card to serve it on")
    model = catalog[node.accelerators[0].model]
    count = node.device_count
    served = list(node.serving.cards)
    if any(card >= count for card in served):
        raise TestbedError(f"{node.name}: serving.cards {served}: the node has {count} card(s)")
    load = served
    precision_of_model = {name: precision for precision, name in node.serving.models.items()}
    timed: dict[str, tuple[dict[str, object], str, str]] = {}  # model name → (card fields, precision, source)
    for name in (node.serving.model, *precision_of_model):
        try:
            card, precision, derived_from = card_for(model, precision_of_model.get(name))
        except UnsupportedPrecision as error:
            raise TestbedError(
                f"{node.name}: serving.models.{precision_of_model.get(name)}: {error}"
            ) from None
        timed[name] = (dict(asdict(card)), precision, derived_from)
    card_fields, precision, derived_from = timed[node.serving.model]
    faults: dict[str, object] = {}
    for fault in node.emulation.faults if node.emulation else ():
        on_other_card = fault.device is not None and fault.device not in served
        if not fault.kind.startswith("llm-") or on_other_card:
            continue
        probe = ActiveFault(fault.kind, 0.0, fault.parameters)
        if fault.kind == "llm-decode-slowdown":  # the card is hot: every model on it slows
            for fields, _, _ in timed.values():
                fields["throttle_after_s"] = probe.number("after_busy_seconds", SLOWDOWN_AFTER_BUSY_S)
                fields["throttle_factor"] = probe.number("factor", SLOWDOWN_FACTOR)
        elif fault.kind == "llm-stream-cut":
            faults["cut_after_tokens"] = int(probe.number("after_tokens", CUT_AFTER_TOKENS))
        elif fault.kind == "llm-wrong-tokens":
            faults["wrong_tokens"] = True
        elif fault.kind == "llm-served-elsewhere":
            other = int(probe.number("card", (max(served) + 1) % count))
            if not 0 <= other < count:
                raise TestbedError(f"{node.name}: llm-served-elsewhere card {other}: the node has {count}")
            load = [other]
    return {
        "model": node.serving.model,
        "precision": precision,
        "card": card_fields,
        "faults": faults,
        "cards": served,
        "load_cards": load,
        "derived_from": derived_from,
        "models": {
            name: {"precision": other, "card": fields, "derived_from": source}
            for name, (fields, other, source) in timed.items()
            if name != node.serving.model
        },
    }


def start_endpoint(node_dir: Path, config: Mapping[str, object], port: int = 0) -> EndpointProcess:
    """Start the endpoint for ``node_dir`` (its own session, the node-dir marker in its environment)."""
    folder = node_dir / "llm"
    folder.mkdir(parents=True, exist_ok=True)
    config_file = config_path(node_dir)
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    ready = folder / "port"
    ready.unlink(missing_ok=True)
    environment = {**os.environ, NODE_DIR_ENV: str(node_dir), "PYTHONPATH": lab_source_root()}
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULE, str(config_file), str(ready), str(port)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if ready.exists():
            return EndpointProcess(process.pid, int(ready.read_text(encoding="utf-8")))
        if process.poll() is not None:
            break
        time.sleep(0.02)
    stop_pids([process.pid])
    raise TestbedError(
        f"{node_dir.name}: the emulated LLM endpoint did not start (see {folder / 'server.log'})"
    )


def is_endpoint(pid: int, node_dir: str | Path) -> bool:
    """Whether ``pid`` is the endpoint started for ``node_dir`` (not a recycled pid)."""
    line = command_line(pid)
    return MODULE in line and str(config_path(Path(node_dir))) in line
