"""Outcomes end to end: pytest reports → the results record → JUnit, Allure, the terminal.

Per lab test the plugin decides one outcome (``lab.criteria.Outcome``):

* setup failed (unreachable node, refused host key, lease held) → ERROR
* an ``AssertionError`` (``CriterionFailed``) in the test → FAIL
* any other exception in the test (``InfrastructureError``, a bug) → ERROR
* passed → PASS, or MARGINAL when a measurement sits in the profile's marginal band
* skipped → SKIP; collected but never finished → INCOMPLETE (found by the loader)

The record is written and flushed the moment the test's teardown ends; JUnit turns
ERROR into ``<error>`` (not ``<failure>``), Allure shows it as broken, and the terminal
prints ERROR / MARGINAL instead of FAILED / PASSED.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab import __version__
from lab.criteria import MARGINAL_MARKER, JsonValue, Measurement, Outcome, combine
from lab.pytest_plugin import masking
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, TRANSCRIPT_KEY
from lab.pytest_plugin.interrupt import install_sigterm_as_interrupt, restore_sigterm
from lab.pytest_plugin.parametrize import _target_of, register_markers
from lab.pytest_plugin.session import RUN_DIR_KEY, LabSession, Target, _plain_id
from lab.results import ErrorInfo, TestRecord, git_commit, load_run, read_manifest, utc_now, write_manifest

log = logging.getLogger(__name__)

LOADGROUP_KEY = "lab_loadgroup"
_MASKING_PLUGIN = "lab-masking"
_GATE_PLUGIN = "lab-gate"
OUTCOME_PROPERTY = MARGINAL_MARKER[0]  # "lab.outcome", the one name JUnit/Allure/xdist carry


@dataclass
class _TestState:
    """What the phases of one test reported so far."""

    started: object = None
    outcome: Outcome = Outcome.PASS
    error: ErrorInfo | None = None
    reason: str = ""
    duration: float = 0.0
    phases: list[str] = field(default_factory=list)


_STATE_KEY = pytest.StashKey[_TestState]()
_SIGTERM_KEY = pytest.StashKey[bool]()  # this session installed the SIGTERM handler


# --- configuration -----------------------------------------------------------------------


def pytest_cmdline_main(config: pytest.Config) -> None:
    # One worker per node: the plugin's xdist_group marks only act under loadgroup.
    if getattr(config.option, "numprocesses", None) and config.option.dist in ("no", "load"):
        config.option.dist = "loadgroup"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from lab.pytest_plugin import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    if not config.pluginmanager.has_plugin(_MASKING_PLUGIN):
        # its own module: it needs a second, innermost pytest_runtest_makereport
        config.pluginmanager.register(masking, _MASKING_PLUGIN)
    if not config.pluginmanager.has_plugin(_GATE_PLUGIN):
        from lab.pytest_plugin import gate  # its own module: a second pytest_runtest_setup

        config.pluginmanager.register(gate, _GATE_PLUGIN)
    # a CI timeout's SIGTERM ends the run like Ctrl-C, cleanly (once per process: pytester
    # sessions inside a test session leave the outer session's handler alone)
    config.stash[_SIGTERM_KEY] = install_sigterm_as_interrupt()
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(LOADGROUP_KEY):
        # xdist workers re-read the command line, so they miss the controller's --dist change
        config.option.loadgroup = True
    if config.getoption("lab_inventory") or config.getoption("lab_select"):
        # asked for explicitly: check it now, so a mistake is one clear line, not a collection error
        LabSession.of(config).nodes  # noqa: B018


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist controller: tell each worker where this run's record lives."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    node.workerinput[RUN_DIR_KEY] = str(LabSession.of(config).run_dir)  # type: ignore[attr-defined]
    node.workerinput[LOADGROUP_KEY] = config.option.dist == "loadgroup"  # type: ignore[attr-defined]


# --- per test ----------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    target = _target_of(item)
    if target is None:
        return
    item.stash[_STATE_KEY] = _TestState(started=utc_now())
    LabSession.of(item.config).writer.started(
        _plain_id(item.nodeid), node=target.node_name, device=target.device_label
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    result = yield
    report: pytest.TestReport = result.get_result()  # type: ignore[attr-defined]
    target = _target_of(item)
    state = item.stash.get(_STATE_KEY, None)
    if target is None or state is None:
        return
    state.duration += report.duration
    state.phases.append(report.when)
    phase_outcome = _phase_outcome(item, report, call)
    if phase_outcome is not None:
        if combine([state.outcome, phase_outcome]) is not state.outcome or phase_outcome is Outcome.SKIP:
            state.outcome = phase_outcome
            if phase_outcome in (Outcome.FAIL, Outcome.ERROR) and call.excinfo is not None:
                state.error = ErrorInfo.from_exception(call.excinfo.value, details=str(report.longrepr))
            if phase_outcome is Outcome.SKIP:
                state.reason = _skip_reason(report)
        if report.when == "call" and phase_outcome in (Outcome.ERROR, Outcome.MARGINAL):
            _mark(item, report, phase_outcome)
    if report.when == "call":
        _attach_to_allure(item, state.outcome)
    if report.when == "teardown" or (report.when == "setup" and report.skipped):
        _write_record(item, target, state)


def _phase_outcome(
    item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]
) -> Outcome | None:
    if report.skipped:
        return Outcome.SKIP
    if report.failed:
        if report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(AssertionError):
            return Outcome.FAIL
        return Outcome.ERROR
    if report.when == "call":
        measurements = item.stash.get(MEASUREMENTS_KEY, [])
        return combine([Outcome.PASS, *(m.verdict for m in measurements)])
    return None


def _mark(item: pytest.Item, report: pytest.TestReport, outcome: Outcome) -> None:
    """Carry the lab outcome to the controller (xdist), JUnit and the terminal."""
    entry = (OUTCOME_PROPERTY, outcome.value)
    item.user_properties.append(entry)
    report.user_properties.append(entry)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _write_record(item: pytest.Item, target: Target, state: _TestState) -> None:
    session = LabSession.of(item.config)
    test_id = _plain_id(item.nodeid)
    measurements: list[Measurement] = item.stash.get(MEASUREMENTS_KEY, [])
    evidence: list[str] = []
    transcript = item.stash.get(TRANSCRIPT_KEY, None)
    if transcript is not None and transcript.entries and state.outcome in (Outcome.FAIL, Outcome.ERROR):
        evidence.append(session.writer.write_evidence(test_id, "transcript.txt", transcript.text()))
    properties: dict[str, object] = {}
    inner = getattr(transcript, "inner", None)
    host_key = getattr(inner, "host_key", None)
    if host_key is not None:
        properties["trust_mode"] = str(getattr(host_key, "mode", ""))
        properties["host_key_fingerprint"] = str(getattr(host_key, "fingerprint", ""))
    properties.update({name: value for name, value in item.user_properties if name != OUTCOME_PROPERTY})
    started = state.started if state.started is not None else utc_now()
    session.writer.record(
        TestRecord(
            test_id=test_id,
            outcome=state.outcome,
            node=target.node_name,
            device=target.device_label,
            measurements=tuple(measurements),
            started=started,  # type: ignore[arg-type]
            finished=utc_now(),
            duration=state.duration,
            error=state.error,
            reason=state.reason,
            evidence=tuple(evidence),
            worker=session.worker,
            properties={key: _json_safe(value) for key, value in properties.items()},
        )
    )


def _json_safe(value: object) -> JsonValue:
    """JSON data as it is (a property may be an object, e.g. a figure's ``accuracy``); anything
    else as its text."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return str(value)


def _attach_to_allure(item: pytest.Item, outcome: Outcome) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    measurements = item.stash.get(MEASUREMENTS_KEY, [])
    if measurements:
        body = json.dumps([m.to_dict() for m in measurements], indent=2, ensure_ascii=False)
        allure.attach(body, name="measurements", attachment_type=allure.attachment_type.JSON)
    transcript = item.stash.get(TRANSCRIPT_KEY, None)
    if transcript is not None and transcript.entries and outcome in (Outcome.FAIL, Outcome.ERROR):
        allure.attach(
            transcript.text(), name="command transcript", attachment_type=allure.attachment_type.TEXT
        )
    if outcome is Outcome.MARGINAL:
        allure.dynamic.label(OUTCOME_PROPERTY, Outcome.MARGINAL.value)  # type: ignore[no-untyped-call]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    if report.when != "call":
        return None
    lab_outcome = dict(report.user_properties).get(OUTCOME_PROPERTY)
    if lab_outcome == Outcome.ERROR.value:
        return "error", "E", "ERROR"
    if lab_outcome == Outcome.MARGINAL.value:
        return "marginal", "M", "MARGINAL"
    return None


# --- end of session ----------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    lab_session = LabSession.of(config)
    lab_session.close()
    if hasattr(config, "workerinput"):
        return
    run_dir = lab_session.run_dir
    if not (run_dir / "manifest.json").is_file():
        return  # no lab test ran in this session
    write_manifest(run_dir, read_manifest(run_dir).finish(exit_status=int(exitstatus)))
    provenance = _provenance(lab_session)
    _junit_properties(config, provenance)
    _allure_environment(config, provenance)


def _provenance(lab_session: LabSession) -> dict[str, str]:
    manifest = read_manifest(lab_session.run_dir)
    values = {
        "lab.run_id": manifest.run_id,
        "lab.run_dir": str(lab_session.run_dir),
        "lab.framework.version": __version__,
        "lab.git.commit": git_commit() or "unknown",
        "lab.inventory.sha256": manifest.inventory_sha256 or "unknown",
        "lab.trust_mode": manifest.trust_mode or "inventory",
    }
    if manifest.profile is not None:
        values["lab.profile"] = f"{manifest.profile.name} {manifest.profile.version}"
        values["lab.profile.sha256"] = manifest.profile.sha256
    run = load_run(lab_session.run_dir)
    for record in run.records:
        for key in ("driver", "firmware", "runtime", "trust_mode", "host_key_fingerprint"):
            value = record.properties.get(key)
            if value and record.node:
                values[f"lab.node.{record.node}.{key}"] = str(value)
    return values


def _junit_properties(config: pytest.Config, provenance: dict[str, str]) -> None:
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for name, value in provenance.items():
        xml.add_global_property(name, value)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After junitxml wrote its file: lab ERROR outcomes become ``<error>``, not ``<failure>``."""
    if config.stash.get(_SIGTERM_KEY, False):
        restore_sigterm()
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath and Path(xmlpath).is_file():
        rewrite_infrastructure_errors(Path(xmlpath))


def rewrite_infrastructure_errors(path: Path) -> int:
    """Turn ``<failure>`` into ``<error>`` for testcases whose lab outcome is ERROR; returns the count."""
    tree = ElementTree.parse(path)
    changed = 0
    for suite in tree.iter("testsuite"):
        for case in suite.iter("testcase"):
            properties = {prop.get("name"): prop.get("value") for prop in case.iter("property")}
            failure = case.find("failure")
            if properties.get(OUTCOME_PROPERTY) == Outcome.ERROR.value and failure is not None:
                failure.tag = "error"
                failure.set("message", "infrastructure error: " + failure.get("message", ""))
                suite.set("failures", str(int(suite.get("failures", "0")) - 1))
                suite.set("errors", str(int(suite.get("errors", "0")) + 1))
                changed += 1
    if changed:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return changed


def _allure_environment(config: pytest.Config, provenance: dict[str, str]) -> None:
    directory = getattr(config.option, "allure_report_dir", None)
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={_properties_escape(value)}" for key, value in sorted(provenance.items())]
    (Path(directory) / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _properties_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    run_dir = LabSession.of(config).run_dir
    if not (run_dir / "manifest.json").is_file():
        return
    run = load_run(run_dir)
    counts = ", ".join(f"{count} {outcome.value}" for outcome, count in run.counts().items() if count)
    terminalreporter.write_sep("-", "kcloud-lab")
    terminalreporter.write_line(f"results: {run_dir} ({counts}); verdict {run.verdict.value}")
