"""Who ran a campaign and for which one: recorded in the run manifest at run start.

The first source that names them wins: the command line (``--lab-tester``/``--lab-campaign``,
``lab campaign --tester/--campaign``, ``lab report --tester/--campaign``), then ``LAB_TESTER`` /
``LAB_CAMPAIGN``, then the CI system's own variables (the account that started the job, the
pipeline). Nothing found leaves the field empty: the report then says "not recorded" rather
than guessing from the login name of a shared lab account::

    attribution(tester=None, campaign="nightly", environ={"GITHUB_ACTOR": "kim"})
    # {'tester': 'kim', 'tester_source': 'GITHUB_ACTOR',
    #  'campaign': 'nightly', 'campaign_source': 'command line'}
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lab.criteria import JsonValue

TESTER_VARIABLES = (
    "LAB_TESTER",
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILD_USER_ID",
    "BUILDKITE_BUILD_CREATOR",
)
CAMPAIGN_VARIABLE = "LAB_CAMPAIGN"


def attribution(
    *, tester: str | None, campaign: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, JsonValue]:
    """The manifest properties ``tester``/``campaign`` and where each came from (empty: unknown)."""
    env = os.environ if environ is None else environ
    found: dict[str, JsonValue] = {}
    who = _first([("command line", tester), *((name, env.get(name)) for name in TESTER_VARIABLES)])
    what = _first(
        [("command line", campaign), (CAMPAIGN_VARIABLE, env.get(CAMPAIGN_VARIABLE)), _ci_campaign(env)]
    )
    if who is not None:
        found["tester"], found["tester_source"] = who[1], who[0]
    if what is not None:
        found["campaign"], found["campaign_source"] = what[1], what[0]
    return found


def _first(candidates: list[tuple[str, str | None]]) -> tuple[str, str] | None:
    for source, value in candidates:
        if value is not None and value.strip():
            return source, value.strip()
    return None


def _ci_campaign(env: Mapping[str, str]) -> tuple[str, str | None]:
    """The CI pipeline as a campaign name: a nightly job is the campaign people refer to."""
    if env.get("GITHUB_WORKFLOW") and env.get("GITHUB_RUN_NUMBER"):
        return "GITHUB_WORKFLOW", f"{env['GITHUB_WORKFLOW']} #{env['GITHUB_RUN_NUMBER']}"
    if env.get("CI_PIPELINE_ID"):
        project = env.get("CI_PROJECT_PATH", "")
        return "CI_PIPELINE_ID", f"{project} pipeline {env['CI_PIPELINE_ID']}".strip()
    return "CI", None
