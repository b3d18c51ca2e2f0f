"""Run sushy-tools' Redfish emulator (fake driver) for one emulated node.

::

    python -m lab.emulator.bmc.server --node-dir testbed/nodes/rngd-01 --config bmc/sushy.conf

sushy-tools serves the Redfish tree (ServiceRoot, Systems with its fake driver, Chassis,
Thermal, Managers, HTTP basic auth from an htpasswd file, TLS). It has no ``Power``
resource and its Thermal readings are constants, so two things are added through Flask's
own extension points, nothing patched inside sushy-tools:

* a ``/redfish/v1/Chassis/<id>/Power`` route (``Power.v1_5_0``) whose
  ``PowerConsumedWatts`` is :func:`lab.emulator.bmc.power.wall_watts` of the node, and
  ``view_functions`` wrappers that link it from the Chassis and put the cards' hottest
  temperature into Thermal;
* a reconciling thread makes the node follow the fake driver's power state (which applies
  a pending ``On`` 1-11 s after a reset, as sushy-tools models hardware): off → the node's
  sshd stops answering and its sessions, workloads and card owners are gone; on → the cards
  cold-boot and SSH answers again (:mod:`lab.emulator.bmc.node_power`). While off the wall
  reading is 0 W.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from lab.emulator.bmc.node_power import power_off, power_on
from lab.emulator.bmc.power import cards_load, wall_watts
from lab.emulator.state import NodeDir

RECONCILE_INTERVAL_S = 0.2
HANG_SECONDS = 120.0  # a wedged request is held this long at most (the client gives up sooner)
BOOT_SECONDS = 3.0
FAN_IDLE_RPM, FAN_MAX_RPM = (
    2100,
    4800,
)  # power-on to SSH: a real server POSTs for minutes; enough here to be seen


def _with_json(view: Callable[..., Any], change: Callable[[dict[str, Any], str], None]) -> Callable[..., Any]:
    """Wrap a sushy-tools view: parse its JSON answer, let ``change`` edit it, answer that."""

    def wrapped(identity: str, *args: Any, **kwargs: Any) -> Any:
        import flask

        response = view(identity, *args, **kwargs)
        if flask.request.method != "GET" or not isinstance(response, flask.Response):
            return response
        if response.status_code != 200:
            return response
        document = json.loads(response.get_data(as_text=True))
        change(document, identity)
        response.set_data(json.dumps(document, indent=2))
        return response

    wrapped.__name__ = getattr(view, "__name__", "wrapped")
    return wrapped


class NodePower:
    """The emulated node's power, kept in step with the fake driver's PowerState.

    A reset that takes the power away acts at once, inside the Redfish request (the fake
    driver may apply the following "On" within a second: a poll could miss the outage); the
    "On" that sushy-tools applies later is followed by :meth:`follow`'s poll.
    """

    def __init__(self, app: Any, node: NodeDir, sshd_pid: int, sshd_config: str) -> None:
        self.app, self.node, self.sshd_pid, self.sshd_config = app, node, sshd_pid, sshd_config
        self.on = True
        self.off_at = 0.0
        self.lock = threading.Lock()

    def set(self, wanted: bool) -> None:
        with self.lock:
            if wanted == self.on:
                return
            if wanted and time.monotonic() - self.off_at < BOOT_SECONDS:
                return  # still booting: the next poll powers it on
            (power_on if wanted else power_off)(self.node, self.sshd_pid, self.sshd_config)
            self.on = wanted
            self.off_at = time.monotonic() if not wanted else self.off_at
        print(f"node power {'on' if wanted else 'off'}", file=sys.stderr, flush=True)

    def follow(self, stop: threading.Event) -> None:
        """Poll the driver's PowerState until ``stop`` is set; the node follows it."""
        while not stop.wait(RECONCILE_INTERVAL_S):
            try:
                systems = self.app.systems
                wanted = all(systems.get_power_state(uuid) == "On" for uuid in systems.systems)
            except Exception as error:  # the driver's sqlite state busy: try again next round
                print(f"power state unreadable: {error}", file=sys.stderr, flush=True)
                continue
            self.set(wanted)


def bmc_fault(node: NodeDir, kind: str) -> bool:
    """Whether the node-level BMC fault ``kind`` is in effect now (``after_seconds`` honoured)."""
    now = node.now()
    return any(fault.kind == kind and (fault.after_seconds or 0.0) <= now for fault in node.spec.faults)


def build_app(node_dir: str, config_file: str) -> Any:
    """sushy-tools' Flask app for ``node_dir``, configured from ``config_file`` (see the module doc)."""
    import flask
    from sushy_tools.emulator import main as sushy_main

    app = sushy_main.app
    app.configure(config_file=config_file)
    node = NodeDir(node_dir)

    def powered() -> bool:
        systems = app.systems
        return all(systems.get_power_state(uuid) == "On" for uuid in systems.systems)

    frozen: list[float] = []

    def power_document(identity: str) -> dict[str, Any]:
        watts = round(wall_watts(node, powered=powered()), 1)
        if bmc_fault(node, "bmc-frozen-power"):
            frozen[:] = frozen or [watts]  # the sensor stuck at its first reading under the fault
            watts = frozen[0]
        base = f"/redfish/v1/Chassis/{identity}/Power"
        return {
            "@odata.type": "#Power.v1_5_0.Power",
            "@odata.id": base,
            "Id": "Power",
            "Name": "Power",
            "PowerControl": [
                {
                    "@odata.id": f"{base}#/PowerControl/0",
                    "MemberId": "0",
                    "Name": "System Input Power",
                    "PowerConsumedWatts": watts,
                    "PowerMetrics": {"IntervalInMin": 1},
                    "Status": {"State": "Enabled", "Health": "OK"},
                }
            ],
        }

    def power_view(identity: str) -> Any:
        app.chassis.uuid(identity)  # unknown chassis: sushy-tools' own 404 error
        return flask.Response(json.dumps(power_document(identity)), status=200, mimetype="application/json")

    app.add_url_rule("/redfish/v1/Chassis/<identity>/Power", "lab_power_resource", power_view)

    def hang_when_faulty() -> None:
        # Flask's before_request hook: a BMC whose web server wedged answers nothing (bounded)
        end = time.monotonic() + HANG_SECONDS
        while bmc_fault(node, "bmc-timeout") and time.monotonic() < end:
            time.sleep(0.5)

    app.before_request(hang_when_faulty)

    def link_power(document: dict[str, Any], identity: str) -> None:
        document["Power"] = {"@odata.id": f"/redfish/v1/Chassis/{identity}/Power"}

    app.view_functions["chassis_resource"] = _with_json(app.view_functions["chassis_resource"], link_power)

    def follow_cards(document: dict[str, Any], identity: str) -> None:
        # sushy-tools' Thermal readings are constants: the intake follows the node's ambient and
        # the fans the cards' share of their full power, as a server's fan curve does
        load = cards_load(node) if powered() else 0.0
        for sensor in document.get("Temperatures", []):
            if sensor.get("PhysicalContext") == "Intake":
                sensor["ReadingCelsius"] = round(node.spec.ambient_celsius, 1)
        for fan in document.get("Fans", []):
            fan["Reading"] = round(FAN_IDLE_RPM + load * (FAN_MAX_RPM - FAN_IDLE_RPM)) if powered() else 0

    app.view_functions["thermal_resource"] = _with_json(app.view_functions["thermal_resource"], follow_cards)
    return app


def cut_power_on_reset(app: Any, power: NodePower) -> None:
    """Wrap sushy-tools' ComputerSystem.Reset view: a reset that removes power acts at once."""
    import flask

    original = app.view_functions["system_reset_action"]

    def reset(identity: str) -> Any:
        response = original(identity)
        status = getattr(response, "status_code", 204)
        reset_type = (flask.request.get_json(silent=True) or {}).get("ResetType", "")
        if status < 300 and reset_type in (
            "ForceOff",
            "GracefulShutdown",
            "ForceRestart",
            "GracefulRestart",
            "PowerCycle",
        ):
            power.set(False)
        return response

    app.view_functions["system_reset_action"] = reset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--config", required=True, help="sushy-tools configuration file (Python)")
    parser.add_argument("--sshd-pid", type=int, default=0, help="the node's sshd (stopped while off)")
    parser.add_argument("--sshd-config", default="", help="its sshd_config (identifies the pid)")
    args = parser.parse_args(argv)
    app = build_app(args.node_dir, args.config)
    power = NodePower(app, NodeDir(args.node_dir), args.sshd_pid, args.sshd_config)
    cut_power_on_reset(app, power)
    threading.Thread(target=power.follow, args=(threading.Event(),), daemon=True).start()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(app.config["SUSHY_EMULATOR_SSL_CERT"], app.config["SUSHY_EMULATOR_SSL_KEY"])
    app.run(
        host=app.config["SUSHY_EMULATOR_LISTEN_IP"],
        port=app.config["SUSHY_EMULATOR_LISTEN_PORT"],
        ssl_context=context,
        threaded=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
