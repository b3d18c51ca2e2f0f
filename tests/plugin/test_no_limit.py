"""A value with no limit for its card's model certifies nothing: SKIP with the reason, and the
report says "uncertified" (it passed "for information" before)."""

from __future__ import annotations

import pytest

from lab.criteria import Outcome
from lab.report.render import render_report
from lab.results import load_run
from tests.plugin.conftest import PROFILE, write_fake_conftest
from tests.plugin.test_plugin_outcomes import ARGS

MEMORY = """\
  memory-capacity:
    axis: compatibility
    unit: GiB
    description: device memory
    by_device: {rngd: {min: 46}}
"""


def test_a_measurement_without_a_limit_is_skip_and_uncertified(lab_project: pytest.Pytester) -> None:
    (lab_project.path / "profiles" / "plugin-test.yaml").write_text(PROFILE + MEMORY, encoding="utf-8")
    write_fake_conftest(lab_project, 'fake.reply(["read-memory"], stdout="0.1")')
    lab_project.makepyfile(
        """
        def test_memory(device, measure):
            measure("memory-capacity", float(device.transport.check(["read-memory"]).stdout))
        """
    )
    result = lab_project.runpytest(*ARGS)
    result.assert_outcomes(failed=1, skipped=3)  # rngd misses its limit; the others have none

    run = load_run(lab_project.path / "run")
    by_device = {record.device: record for record in run.records}
    assert by_device["npu0"].outcome is Outcome.FAIL
    skipped = by_device["gpu0"]
    assert skipped.outcome is Outcome.SKIP
    assert skipped.reason == "memory-capacity: no limit for h100-pcie in plugin-test: uncertified"
    (measured,) = skipped.measurements
    assert (measured.verdict, measured.value) == (Outcome.SKIP, 0.1)  # recorded, not judged

    html = render_report(lab_project.path / "run", lang="en")
    # one row per measurement in the appendix (the reason as tooltip); key figures say it too
    assert html.count('<span class="uncertified" title="') == 3
