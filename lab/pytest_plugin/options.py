"""Command-line options of the plugin, all prefixed ``--lab-``, and their parsed form."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.inventory.shard import ShardError, ShardSpec, parse_keys, shard_from_env

DEFAULT_INVENTORY = "testbed/inventory.yaml"
"""What ``lab testbed up`` writes; used when no ``--lab-inventory`` is given."""

DEFAULT_PROFILE = "kcloud-npu-v1"
TRUST_MODES = ("inventory", "strict", "bring-up")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``30s``, ``1.5h``, ``72h`` or ``45`` (seconds).

    >>> parse_duration("2m")
    120.0
    """
    match = _DURATION.match(text)
    if match is None:
        raise pytest.UsageError(f"not a duration: {text!r} (examples: 30s, 10m, 24h)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise pytest.UsageError(f"a duration must be positive: {text!r}")
    return seconds


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lab", "kcloud-lab certification")
    group.addoption(
        "--lab-inventory",
        action="append",
        default=[],
        metavar="PATH",
        help=f"inventory YAML file (repeatable); default: the emulated test-bed's {DEFAULT_INVENTORY}",
    )
    group.addoption(
        "--lab-select",
        default=None,
        metavar="EXPR",
        help="node selection, e.g. 'vendor=rebellions and operator=kt-cloud' (see docs/inventory.md)",
    )
    group.addoption(
        "--lab-profile",
        default=None,
        metavar="NAME",
        help=f"certification profile; default: each node's own, else {DEFAULT_PROFILE}",
    )
    group.addoption(
        "--lab-run-dir",
        default=None,
        metavar="DIR",
        help="results folder of this run; default: runs/<run id>",
    )
    group.addoption(
        "--lab-command-timeout",
        default=None,
        metavar="DURATION",
        help="wall-clock deadline of every remote command, overriding the inventory (e.g. 60s)",
    )
    group.addoption(
        "--lab-trust",
        default="inventory",
        choices=TRUST_MODES,
        help="SSH host-key trust: as the inventory says (default), strict, or bring-up (records new keys)",
    )
    group.addoption(
        "--lab-soak-duration",
        default=None,
        metavar="DURATION",
        help="soak length for the stability suite (e.g. 30s in CI, 24h in the lab); default: the profile's",
    )
    group.addoption(
        "--lab-perf-duration",
        default=None,
        metavar="DURATION",
        help="LoadGen minimum duration of every performance run (CI: 1s-2s); default: the profile's 600 s",
    )
    group.addoption(
        "--lab-shard",
        default=None,
        metavar="K/N",
        help="run only shard K of N (split by node, balanced by cost); default: from the CI environment "
        "(LAB_SHARD, GitLab CI_NODE_INDEX/CI_NODE_TOTAL, Kubernetes JOB_COMPLETION_INDEX + LAB_SHARD_COUNT)",
    )
    group.addoption(
        "--lab-shard-by",
        default=None,
        metavar="KEYS",
        help="keep each shard inside one group of these keys, e.g. 'site' or 'operator,rack'",
    )
    group.addoption(
        "--lab-shard-costs",
        default=None,
        metavar="RUN_DIR",
        help="balance shards by the seconds each node's tests took in this earlier run",
    )
    group.addoption(
        "--lab-lease-wait",
        default=None,
        metavar="DURATION",
        help="wait up to this long for a node another controller holds (e.g. 30m; default: ERROR at once)",
    )
    group.addoption(
        "--lab-no-lease",
        action="store_true",
        default=False,
        help="take no node leases (only for nodes nobody else can reach, e.g. a private emulated test-bed)",
    )
    group.addoption(
        "--lab-tester",
        default=None,
        metavar="NAME",
        help="who runs this campaign, for the report's cover (default $LAB_TESTER, else the CI's user)",
    )
    group.addoption(
        "--lab-campaign",
        default=None,
        metavar="NAME",
        help="which campaign this run belongs to (default $LAB_CAMPAIGN, else the CI pipeline)",
    )
    group.addoption(
        "--lab-gate",
        choices=("off", "on", "auto-lift"),
        default="off",
        help="health gate before each suite on each node: 'on' quarantines a failing node for the "
        "rest of the run; 'auto-lift' also lets it back when a later gate passes (default off)",
    )
    group.addoption(
        "--lab-metrics-port",
        default=None,
        metavar="[ADDRESS:]PORT",
        help="serve the run's own telemetry in Prometheus format while it runs (outcomes per node, "
        "quarantines; lab.report.metrics); bound to 127.0.0.1 unless an address is given",
    )


@dataclass(frozen=True, slots=True)
class LabOptions:
    """The ``--lab-*`` options after parsing."""

    inventories: tuple[Path, ...]
    select: str | None
    profile: str | None
    run_dir: Path | None
    command_timeout: float | None
    trust: str
    soak_duration: float | None
    perf_duration: float | None
    lease: bool
    shard: ShardSpec | None = None
    lease_wait: float = 0.0
    shard_costs: Path | None = None
    tester: str | None = None
    campaign: str | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> LabOptions:
        inventories = config.getoption("lab_inventory") or [DEFAULT_INVENTORY]
        run_dir = config.getoption("lab_run_dir")
        timeout = config.getoption("lab_command_timeout")
        soak = config.getoption("lab_soak_duration")
        perf = config.getoption("lab_perf_duration")
        costs = config.getoption("lab_shard_costs")
        wait = config.getoption("lab_lease_wait")
        return cls(
            inventories=tuple(Path(path) for path in inventories),
            select=config.getoption("lab_select"),
            profile=config.getoption("lab_profile"),
            run_dir=Path(run_dir) if run_dir else None,
            command_timeout=parse_duration(timeout) if timeout else None,
            trust=config.getoption("lab_trust"),
            soak_duration=parse_duration(soak) if soak else None,
            perf_duration=parse_duration(perf) if perf else None,
            lease=not config.getoption("lab_no_lease"),
            shard=_shard(config.getoption("lab_shard"), config.getoption("lab_shard_by")),
            shard_costs=Path(costs) if costs else None,
            lease_wait=parse_duration(wait) if wait else 0.0,
            tester=config.getoption("lab_tester"),
            campaign=config.getoption("lab_campaign"),
        )


def _shard(text: str | None, by: str | None) -> ShardSpec | None:
    """``--lab-shard`` if given, else what the CI engine put in the environment."""
    try:
        keys = parse_keys(by)
        spec = ShardSpec.parse(text, by=keys) if text else shard_from_env(os.environ, by=keys)
        if spec is None and keys:
            raise ShardError("--lab-shard-by needs --lab-shard K/N (or a CI shard index in the environment)")
        return spec
    except ShardError as error:
        raise pytest.UsageError(f"--lab-shard: {error}") from None
