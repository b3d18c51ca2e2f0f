"""The stability suite's engine: soaks with telemetry, online drift and fault judgement, and
recovery drills. See docs/stability.md.

::

    from lab.stability import Soak, SoakSettings, soak_measurements
    settings = SoakSettings.from_profile(profile, node, duration=30.0)
    result = Soak(transport, node, catalog, profile, run_dir, test_id, settings).run()
    for measurement in soak_measurements(result, profile):
        print(measurement.name, measurement.verdict, measurement.reason)
"""

from lab.stability.cards import Card, node_cards
from lab.stability.drills import DrillResult, kill_drill, progress_drill, reset_drill
from lab.stability.settings import SoakSettings
from lab.stability.soak import Gap, NodeUnreachable, Soak, SoakResult
from lab.stability.verdicts import drill_measurement, soak_measurements
from lab.stability.workloads import NodeWorkloads, RunnerUnavailable

__all__ = [
    "Card",
    "DrillResult",
    "Gap",
    "NodeUnreachable",
    "NodeWorkloads",
    "RunnerUnavailable",
    "Soak",
    "SoakResult",
    "SoakSettings",
    "drill_measurement",
    "kill_drill",
    "node_cards",
    "progress_drill",
    "reset_drill",
    "soak_measurements",
]
