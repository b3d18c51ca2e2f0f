"""The pre-suite health gate: judge a node's kernel health against the profile.

::

    verdict = judge_gate(read_kernel_health(transport), profile, baseline=previous)
    verdict.passed, verdict.reason        # False, "kernel-aer-correctable: 812 errors > max 100"

Criteria (``inventory/profiles/kcloud-npu-v1.yaml``, stability axis): uncorrectable AER
(fatal and non-fatal) and machine checks since boot must be 0 (an uncorrectable error means
the node is unfit, as DCGM fails any double-bit ECC error); correctable AER is judged since
boot at the first gate and as growth since the previous gate afterwards (a storm is a rate:
a long-running healthy node may carry a few from years ago); devastating NVIDIA XIDs and
vendor driver errors new since the previous gate must be 0. A criterion missing from the
profile is not judged (a profile without gate criteria gates nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.criteria import Measurement, Outcome, evaluate
from lab.health.kernel import KernelHealth
from lab.inventory import Profile


@dataclass(frozen=True)
class GateVerdict:
    """The gate's decision for one node: passed, and the measurements behind it."""

    passed: bool
    measurements: tuple[Measurement, ...]

    @property
    def reason(self) -> str:
        """The failed criteria, one clause each (empty when passed)."""
        return "; ".join(f"{m.name}: {m.reason}" for m in self.measurements if m.verdict is Outcome.FAIL)


def gate_values(health: KernelHealth, baseline: KernelHealth | None) -> dict[str, int]:
    """The figures the gate judges, by criterion name."""
    window = health.since(baseline) if baseline is not None else health
    return {
        "kernel-aer-fatal": health.aer_total("fatal"),
        "kernel-aer-nonfatal": health.aer_total("nonfatal"),
        "kernel-aer-correctable": window.aer_total("correctable"),
        "kernel-machine-checks": health.machine_checks,
        "kernel-xid-devastating": len(window.devastating_xids()),
        "kernel-driver-errors": len(window.driver_errors),
    }


def judge_gate(health: KernelHealth, profile: Profile, baseline: KernelHealth | None = None) -> GateVerdict:
    """Judge ``health`` (and its growth since ``baseline``) with ``profile``'s gate criteria."""
    measurements = tuple(
        evaluate(profile.criteria[name], value)
        for name, value in gate_values(health, baseline).items()
        if name in profile.criteria
    )
    return GateVerdict(all(m.verdict is not Outcome.FAIL for m in measurements), measurements)
