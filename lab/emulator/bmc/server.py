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
* the fake driver's power state is read with the node: while the system is off (after a
  ``ForceOff`` or during a ``ForceRestart``) the wall reading is 0 W.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from collections.abc import Callable
from typing import Any

from lab.emulator.bmc.power import wall_watts
from lab.emulator.state import NodeDir


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

    def power_document(identity: str) -> dict[str, Any]:
        watts = round(wall_watts(node, powered=powered()), 1)
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

    def link_power(document: dict[str, Any], identity: str) -> None:
        document["Power"] = {"@odata.id": f"/redfish/v1/Chassis/{identity}/Power"}

    app.view_functions["chassis_resource"] = _with_json(app.view_functions["chassis_resource"], link_power)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-dir", required=True)
    parser.add_argument("--config", required=True, help="sushy-tools configuration file (Python)")
    args = parser.parse_args(argv)
    app = build_app(args.node_dir, args.config)
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
