"""A node's BMC over DMTF Redfish, on OpenStack's ``sushy`` library.

Why sushy rather than DMTF's ``redfish`` package: sushy maps every resource to typed
fields (``chassis.power.power_control[0].power_consumed_watts``) and refuses documents that
miss required ones, so a misbehaving BMC becomes an error here, not a silent ``None`` three
layers up; it is what OpenStack Ironic drives real fleets' BMCs with (vendor quirks fixed
there), and its sibling sushy-tools is the emulator our test-bed runs.

Same deadlines and error vocabulary as the SSH transport: every call ends within the
inventory's ``bmc.timeout`` (connect and each request), and every way it can go wrong is
an :class:`~lab.errors.InfrastructureError` (ERROR, never a card's FAIL)::

    with RedfishClient(node.bmc, node=node.name) as bmc:     # password read from $password_env now
        reading = bmc.power()          # PowerReading(watts=1234.5, source='redfish:/redfish/v1/...')
        bmc.reset("ForceRestart")

TLS: ``pinned`` checks the certificate's SHA-256 against the inventory (urllib3's
``assert_fingerprint``, the way host keys are pinned; a self-signed BMC certificate needs no
CA); ``insecure`` checks nothing and :attr:`RedfishClient.tls_mode` says so for the record.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from lab.errors import (
    AuthenticationError,
    BmcError,
    CertificateMismatch,
    CommandTimeout,
    InfrastructureError,
    UnreachableError,
)
from lab.inventory.model import Bmc

RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle")


@dataclass(frozen=True)
class PowerReading:
    """The system's wall power at ``at`` (time.time()), and where the figure came from."""

    watts: float
    source: str
    at: float
    tls: str  # "pinned" or "insecure": recorded with every figure read over this connection


@dataclass(frozen=True)
class ThermalReading:
    """BMC temperatures (°C) and fan speeds by sensor name, at ``at``."""

    temperatures: dict[str, float]
    fans: dict[str, float]
    at: float
    source: str
    tls: str = "pinned"
    units: dict[str, str] = field(default_factory=dict)  # fan name -> RPM or Percent


class _PinnedAdapter(HTTPAdapter):
    """Verifies the peer certificate by its SHA-256 fingerprint, nothing else (no CA, no name)."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


def _power_resource(root: Any, path: str) -> Any:
    """The ``Power`` resource at ``path`` with ``PowerControl`` read through declared fields.

    sushy's ``Power`` model declares only ``PowerSupplies``; a subclass adding the standard
    ``PowerControl`` fields is the library's own way to extend a resource (as for OEM parts),
    so a reading missing ``PowerConsumedWatts`` or holding a non-number fails its checks.
    """
    from sushy.resources import base
    from sushy.resources.chassis.power import power

    class PowerControl(base.ListField):  # type: ignore[misc]
        name = base.Field("Name")
        power_consumed_watts = base.Field("PowerConsumedWatts", adapter=float)

    class LabPower(power.Power):  # type: ignore[misc]
        power_control = PowerControl("PowerControl", required=True)

    return LabPower(root._conn, path, redfish_version=root.redfish_version, registries=None, root=root)


def _password(bmc: Bmc, node: str) -> str:
    value = os.environ.get(bmc.password_env)
    if value is None:
        raise AuthenticationError(
            f"BMC password: environment variable ${bmc.password_env} is not set", node=node
        )
    return value


class RedfishClient:
    """One node's BMC. Opening reads the service root; every method raises only InfrastructureError."""

    def __init__(self, bmc: Bmc, *, node: str, password: str | None = None) -> None:
        self.bmc = bmc
        self.node = node
        self.tls_mode = bmc.tls
        self._password = password if password is not None else _password(bmc, node)
        self._root: Any = None
        self._power_path: str | None = None

    # --- connection -----------------------------------------------------------------
    def open(self) -> RedfishClient:
        """Connect (read the service root); a client already open stays as it is."""
        if self._root is not None:
            return self
        import sushy
        from sushy import auth as sushy_auth
        from sushy import connector as sushy_connector

        if self.bmc.tls == "pinned" and not self.bmc.fingerprint:
            raise CertificateMismatch(
                "the BMC's certificate is not pinned: set bmc.tls_fingerprint or bmc.tls: insecure",
                node=self.node,
            )
        connector = sushy_connector.Connector(
            self.bmc.url,
            verify=False,  # checked by fingerprint below (pinned) or not at all (insecure, recorded)
            default_request_timeout=self.bmc.timeout,
            connect_timeout=self.bmc.timeout,
            # one attempt per request (0 would mean sushy's default of 3, with 2 s sleeps):
            # the deadline is the inventory's, and the caller decides whether to try again
            server_side_retries=1,
            server_side_retries_delay=0,
        )
        session: requests.Session = connector._session
        if self.bmc.fingerprint:
            session.mount("https://", _PinnedAdapter(self.bmc.fingerprint))
        # Basic auth, no Redfish session: a BMC has few session slots and a crashed run would
        # leave one behind until it times out.
        auth = sushy_auth.BasicAuth(self.bmc.user, self._password)
        self._root = self._call(
            "connect",
            lambda: sushy.Sushy(
                self.bmc.url,
                auth=auth,
                connector=connector,
                read_timeout=self.bmc.timeout,
                connect_timeout=self.bmc.timeout,
            ),
        )
        return self

    def close(self) -> None:
        if self._root is not None:
            self._root._conn.close()
            self._root = None

    def __enter__(self) -> RedfishClient:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- reads and actions ------------------------------------------------------------
    def power_state(self) -> str:
        """The ComputerSystem's PowerState: 'On', 'Off', ..."""
        state = self._call("read PowerState", lambda: self._system().power_state)
        return str(getattr(state, "value", state))  # sushy gives an enum; Redfish's text is its value

    def power(self) -> PowerReading:
        """The chassis' wall power (``Power.PowerControl[0].PowerConsumedWatts``)."""

        def read() -> PowerReading:
            if self._power_path is None:  # resolved once: each sample is then one request
                from sushy.utils import get_sub_resource_path_by

                self._power_path = get_sub_resource_path_by(self._chassis(), "Power")
            power = _power_resource(self._root, self._power_path)
            controls = power.power_control or []
            watts = controls[0].power_consumed_watts if controls else None
            if watts is None:
                raise BmcError(f"{power.path}: no PowerControl[0].PowerConsumedWatts", node=self.node)
            return PowerReading(
                float(watts),
                f"redfish:{power.path}#PowerControl/0/PowerConsumedWatts",
                time.time(),
                self.tls_mode,
            )

        reading: PowerReading = self._call("read Power", read)
        return reading

    def thermal(self) -> ThermalReading:
        """Temperatures and fans of the chassis' ``Thermal`` resource."""

        def read() -> ThermalReading:
            thermal = self._chassis().thermal
            temperatures = {
                str(sensor.name): float(sensor.reading_celsius)
                for sensor in thermal.temperatures or []
                if sensor.reading_celsius is not None
            }
            fans = {
                str(fan.name): float(fan.reading) for fan in thermal.fans or [] if fan.reading is not None
            }
            units = {
                str(fan.name): str(getattr(fan.reading_units, "value", "")) for fan in thermal.fans or []
            }
            return ThermalReading(
                temperatures, fans, time.time(), f"redfish:{thermal.path}", self.tls_mode, units
            )

        reading: ThermalReading = self._call("read Thermal", read)
        return reading

    def reset(self, reset_type: str = "ForceRestart") -> None:
        """``ComputerSystem.Reset`` with ``reset_type`` (one of RESET_TYPES)."""
        if reset_type not in RESET_TYPES:
            raise ValueError(f"unknown ResetType {reset_type!r}; one of {', '.join(RESET_TYPES)}")
        import sushy

        self._call(f"Reset {reset_type}", lambda: self._system().reset_system(sushy.ResetType(reset_type)))

    # --- helpers ------------------------------------------------------------------------
    def _system(self) -> Any:
        if self._root is None:
            raise InfrastructureError(f"{self.node}: BMC client used before open()")
        identity = self.bmc.system
        if identity is None:
            members = self._root.get_system_collection().members_identities
            if len(members) != 1:
                raise BmcError(
                    f"the BMC has {len(members)} systems {sorted(members)}: name one with bmc.system",
                    node=self.node,
                )
            identity = next(iter(members))
        elif not identity.startswith("/"):
            identity = f"{self._root.get_system_collection().path.rstrip('/')}/{identity}"
        return self._root.get_system(identity)

    def _chassis(self) -> Any:
        if self._root is None:
            raise InfrastructureError(f"{self.node}: BMC client used before open()")
        collection = self._root.get_chassis_collection()
        members = sorted(collection.members_identities)
        if not members:
            raise BmcError("the BMC lists no Chassis", node=self.node)
        identity = members[0]
        if self.bmc.chassis is not None:
            identity = f"{collection.path.rstrip('/')}/{self.bmc.chassis}"
        return self._root.get_chassis(identity)

    def _call(self, what: str, action: Any) -> Any:
        """Run ``action``; translate every library, HTTP and TLS failure into the lab's vocabulary."""
        from sushy import exceptions as sushy_errors

        where = f"BMC {self.bmc.url}: {what}"
        try:
            return action()
        except InfrastructureError:
            raise
        except sushy_errors.AccessError as error:
            raise AuthenticationError(
                f"{where}: refused the credentials (HTTP {error.status_code})", node=self.node
            ) from None
        except sushy_errors.HTTPError as error:
            raise BmcError(
                f"{where}: HTTP {error.status_code}: {error.detail or error.message}", node=self.node
            ) from None
        except sushy_errors.ConnectionError as error:
            raise self._connection_error(where, error) from None
        except (
            sushy_errors.MissingAttributeError,
            sushy_errors.MalformedAttributeError,
            sushy_errors.SushyError,
        ) as error:
            raise BmcError(f"{where}: not the Redfish expected: {error}", node=self.node) from None
        except requests.RequestException as error:
            raise self._connection_error(where, error) from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BmcError(
                f"{where}: not the Redfish expected: {type(error).__name__}: {error}", node=self.node
            ) from None

    def _connection_error(self, where: str, error: Exception) -> InfrastructureError:
        text = str(error)
        if "Fingerprints did not match" in text or "fingerprint" in text.lower():
            return CertificateMismatch(
                f"{where}: the certificate is not the one pinned in the inventory (bmc.tls_fingerprint)",
                node=self.node,
            )
        if "timed out" in text.lower() or "timeout" in text.lower():
            return CommandTimeout(f"{where}: no answer within {self.bmc.timeout:g} s", node=self.node)
        return UnreachableError(f"{where}: {_short(text)}", node=self.node)


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:300] + " [...]"
