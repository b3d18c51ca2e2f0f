"""MLPerf's run rules, checked rule by rule on every performance result (in the spirit of
MLCommons' submission checker, ``tools/submission/submission_checker/checks/performance_check.py``).

A figure is an MLPerf-style result only when every rule held: its LoadGen runs VALID, at least
600 s long, with mlperf.conf's minimum query count and seeds, early stopping met for tail
latency, its accuracy run passed and its audits (TEST01, TEST04) passed::

    report = check_rules([result.summary_text], settings=result.settings,
                         accuracy=record_properties.get("accuracy"),
                         audits=record_properties.get("audits"))
    report.summary     # "MLPerf rules: all held", or
                       # "MLPerf rules: did not hold: duration ≥ 600 s (2 s); not run: accuracy"
    report.to_json()   # {"summary": ..., "held": false, "rules": [{"name", "status", "detail"}, ...]}

A rule's status is ``held``, ``did not hold``, ``not run`` (nothing to check it against: no
accuracy run, no audit — never counted as held) or ``not applicable`` (early stopping in Offline).
A short run says so by the same mechanism: rule ``duration ≥ 600 s`` did not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass

from lab.agent.summary import parse_summary
from lab.performance.result import AgentResult

HELD = "held"
NOT_HELD = "did not hold"
NOT_RUN = "not run"
NOT_APPLICABLE = "not applicable"

MLPERF_MIN_DURATION_MS = 600_000
"""mlperf.conf: ``*.<scenario>.min_duration = 600000`` for every scenario."""

OFFLINE_MIN_SAMPLES = 24_576
"""mlperf.conf: ``resnet50.Offline.min_query_count = 24576`` ("if the dataset size is larger than
24576 we limit the min_query_count to 24576 and otherwise we use the dataset size")."""

MIN_QUERY_COUNT = {"MultiStream": 662, "SingleStream": 100, "Server": 100}
"""mlperf.conf: ``*.MultiStream.min_query_count = 662``; SingleStream and Server keep LoadGen's
default (100) and rely on early stopping."""

EARLY_STOPPING_SCENARIOS = frozenset({"SingleStream", "MultiStream", "Server"})

MLPERF_CONF_SEEDS: Mapping[str, tuple[int, int, int]] = {
    # (qsl_rng_seed, sample_index_rng_seed, schedule_rng_seed) of the mlperf.conf built into each
    # LoadGen release (as the submission checker keeps them per round); read from
    # mlcommons-loadgen 6.0.17's TestSettings.FromConfig
    "6.0": (2085463073848966840, 2747215439041700203, 16159082839903944936),
}
SEED_NAMES = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")

AUDITS = ("TEST01", "TEST04")


@dataclass(frozen=True)
class Rule:
    """One rule's outcome: ``status`` is one of held / did not hold / not run / not applicable."""

    name: str
    status: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}

    def describe(self) -> str:
        return f"{self.name} ({self.detail})" if self.detail else self.name


@dataclass(frozen=True)
class RuleReport:
    rules: tuple[Rule, ...]

    @property
    def held(self) -> bool:
        """True only when no rule failed or went unchecked."""
        return all(rule.status in (HELD, NOT_APPLICABLE) for rule in self.rules)

    def failed(self, names: Iterable[str] | None = None) -> list[Rule]:
        """Rules that did not hold (only those named, when ``names`` is given)."""
        wanted = set(names) if names is not None else None
        return [r for r in self.rules if r.status == NOT_HELD and (wanted is None or r.name in wanted)]

    @property
    def summary(self) -> str:
        """ "MLPerf rules: all held", or exactly which did not hold and which were not run."""
        if self.held:
            return "MLPerf rules: all held"
        parts = []
        failed = self.failed()
        if failed:
            parts.append(f"{NOT_HELD}: " + "; ".join(rule.describe() for rule in failed))
        unchecked = [rule.name for rule in self.rules if rule.status == NOT_RUN]
        if unchecked:
            parts.append(f"{NOT_RUN}: " + ", ".join(unchecked))
        return "MLPerf rules: " + "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {"summary": self.summary, "held": self.held, "rules": [r.to_json() for r in self.rules]}


RUN_RULES = ("result VALID", "duration ≥ 600 s", "query count", "seeds", "early stopping")
"""The rules about the LoadGen runs themselves (the lab's settings, LoadGen's verdict)."""


def parameters_used(summary_text: str) -> dict[str, str]:
    """The ``Test Parameters Used`` section of ``mlperf_log_summary.txt`` (``key : value``)."""
    values: dict[str, str] = {}
    inside = False
    for raw in summary_text.splitlines():
        line = raw.strip()
        if line == "Test Parameters Used":
            inside = True
            continue
        if inside and ":" in line and not line.startswith("="):
            key, _, value = line.partition(":")
            values.setdefault(key.strip(), value.strip())
    return values


def early_stopping_words(summary_text: str) -> str:
    """The bullet lines of the summary's ``Early Stopping Result`` block, joined."""
    lines: list[str] = []
    inside = False
    for raw in summary_text.splitlines():
        line = raw.strip()
        if line.startswith("Early Stopping Result"):
            inside = True
            continue
        if inside and (not line or line.startswith("=")):
            break
        if inside:
            lines.append(line.lstrip("* "))
    return " ".join(lines)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)  # seeds are 64-bit: never through a float
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return None


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g} s"


def expected_seeds(loadgen_version: str | None, reported: object = None) -> tuple[int, ...] | None:
    """mlperf.conf's seeds for that LoadGen release: the table above, else the seeds the agent
    read from the LoadGen it ran (``settings.mlperf_conf_seeds``); None when neither is known."""
    if loadgen_version:
        major_minor = ".".join(loadgen_version.split()[0].split(".")[:2])
        if major_minor in MLPERF_CONF_SEEDS:
            return MLPERF_CONF_SEEDS[major_minor]
    if (
        isinstance(reported, list | tuple)
        and len(reported) == 3
        and all(isinstance(v, int) for v in reported)
    ):
        return tuple(int(v) for v in reported)
    return None


def _run_rules(
    texts: Sequence[str], settings: Mapping[str, object], loadgen_version: str | None
) -> list[Rule]:
    summaries = [parse_summary(text) for text in texts]
    parameters = [parameters_used(text) for text in texts]
    rules: list[Rule] = []

    invalid = [str(s.get("result", "no result")) for s in summaries if s.get("result") != "VALID"]
    rules.append(Rule("result VALID", NOT_HELD if invalid or not texts else HELD, ", ".join(invalid)))

    durations = [_int(p.get("min_duration (ms)")) for p in parameters]
    shortest = min((d for d in durations if d is not None), default=None)
    unmet = any(s.get("min_duration_satisfied") is not True for s in summaries)
    if shortest is None:
        rules.append(Rule("duration ≥ 600 s", NOT_RUN, "no min_duration in LoadGen's summary"))
    elif shortest < MLPERF_MIN_DURATION_MS:
        rules.append(Rule("duration ≥ 600 s", NOT_HELD, _seconds(shortest)))
    elif unmet:
        rules.append(Rule("duration ≥ 600 s", NOT_HELD, "LoadGen: min duration not satisfied"))
    else:
        rules.append(Rule("duration ≥ 600 s", HELD, _seconds(shortest)))

    rules.append(_query_rule(summaries, parameters, settings))
    rules.append(_seed_rule(parameters, settings, loadgen_version))
    rules.append(_early_stopping_rule(summaries, texts))
    return rules


def _query_rule(
    summaries: Sequence[Mapping[str, object]],
    parameters: Sequence[Mapping[str, str]],
    settings: Mapping[str, object],
) -> Rule:
    shortfalls: list[str] = []
    counts: list[str] = []
    for summary, params in zip(summaries, parameters, strict=True):
        scenario = str(summary.get("scenario", ""))
        if scenario == "Offline":
            dataset = settings.get("sample_count")
            need = (
                min(OFFLINE_MIN_SAMPLES, int(dataset))
                if isinstance(dataset, int | float)
                else OFFLINE_MIN_SAMPLES
            )
            have = _int(params.get("samples_per_query"))
            what = "samples"
        else:
            need = MIN_QUERY_COUNT.get(scenario, 100)
            have = _int(params.get("min_query_count"))
            what = "queries"
        if have is None:
            return Rule("query count", NOT_RUN, f"no {what} count in LoadGen's summary")
        counts.append(f"{have} {what}")
        if have < need:
            shortfalls.append(f"{have} {what}, mlperf.conf asks ≥ {need}")
        elif summary.get("min_queries_satisfied") is False:
            shortfalls.append("LoadGen: min queries not satisfied")
    if shortfalls:
        return Rule("query count", NOT_HELD, "; ".join(shortfalls))
    return Rule("query count", HELD if counts else NOT_RUN, ", ".join(counts))


def _seed_rule(
    parameters: Sequence[Mapping[str, str]], settings: Mapping[str, object], version: str | None
) -> Rule:
    expected = expected_seeds(version, settings.get("mlperf_conf_seeds"))
    if expected is None:
        return Rule(
            "seeds", NOT_RUN, f"mlperf.conf's seeds unknown for LoadGen {version or '(version unknown)'}"
        )
    wrong: list[str] = []
    for params in parameters:
        for name, want in zip(SEED_NAMES, expected, strict=True):
            have = _int(params.get(name))
            if have != want:
                wrong.append(f"{name} {have if have is not None else 'missing'}, mlperf.conf {want}")
    if wrong:
        return Rule("seeds", NOT_HELD, "; ".join(dict.fromkeys(wrong)))
    return Rule("seeds", HELD, "mlperf.conf's")


def _early_stopping_rule(summaries: Sequence[Mapping[str, object]], texts: Sequence[str]) -> Rule:
    scenarios = {str(s.get("scenario", "")) for s in summaries}
    if not scenarios & EARLY_STOPPING_SCENARIOS:
        return Rule("early stopping", NOT_APPLICABLE, "Offline has no tail-latency bound")
    for summary, text in zip(summaries, texts, strict=True):
        if str(summary.get("scenario")) not in EARLY_STOPPING_SCENARIOS:
            continue
        if summary.get("early_stopping_satisfied") is not True:
            return Rule("early stopping", NOT_HELD, early_stopping_words(text) or "LoadGen: not satisfied")
    estimate = next((early_stopping_words(t) for t in texts if "percentile estimate" in t), "")
    return Rule("early stopping", HELD, estimate)


def _accuracy_rule(accuracy: object) -> Rule:
    if not isinstance(accuracy, Mapping) or not isinstance(accuracy.get("passed"), bool):
        return Rule("accuracy", NOT_RUN, "no accuracy run")
    value, reference, fraction = (accuracy.get(k) for k in ("value", "reference", "target_fraction"))
    detail = f"{accuracy.get('metric', 'metric')} {value}"
    if isinstance(reference, int | float) and isinstance(fraction, int | float):
        detail += f", target {fraction:g} × {reference}"
    return Rule("accuracy", HELD if accuracy["passed"] else NOT_HELD, detail)


def _audit_rules(audits: object) -> list[Rule]:
    found = audits if isinstance(audits, Mapping) else {}
    rules = []
    for name in AUDITS:
        audit = found.get(name)
        if not isinstance(audit, Mapping) or not isinstance(audit.get("passed"), bool):
            rules.append(Rule(name, NOT_RUN, f"no {name} audit"))
        else:
            rules.append(Rule(name, HELD if audit["passed"] else NOT_HELD, str(audit.get("detail", ""))))
    return rules


def check_rules(
    summary_texts: Sequence[str],
    *,
    settings: Mapping[str, object] | None = None,
    loadgen_version: str | None = None,
    accuracy: object = None,
    audits: object = None,
) -> RuleReport:
    """Every rule for a figure backed by the LoadGen runs whose ``mlperf_log_summary.txt`` texts
    are given (all of them must hold it), with the record's ``accuracy`` and ``audits``."""
    rules = _run_rules(summary_texts, settings or {}, loadgen_version)
    rules.append(_accuracy_rule(accuracy))
    rules.extend(_audit_rules(audits))
    return RuleReport(tuple(rules))


def merged_audits(properties: Sequence[tuple[str, object]]) -> dict[str, object]:
    """Every ``audits`` property of a test merged (TEST01 from the accuracy run, TEST04 from
    the cache audit): a record keeps the last value of a name, so the merge is written last."""
    audits: dict[str, object] = {}
    for name, value in properties:
        if name == "audits" and isinstance(value, Mapping):
            audits.update(value)
    return audits


def rules_for(runs: Sequence[AgentResult], properties: Sequence[tuple[str, object]]) -> RuleReport:
    """The rule report of a figure made from ``runs``, with the test's accuracy and audits."""
    accuracy = next((value for name, value in reversed(properties) if name == "accuracy"), None)
    first = runs[0] if runs else None
    return check_rules(
        [run.summary_text for run in runs],
        settings=first.settings if first else None,
        loadgen_version=_version(first) if first else None,
        accuracy=accuracy,
        audits=merged_audits(properties),
    )


def _version(run: AgentResult) -> str | None:
    """LoadGen's version from the detail log (an LLM run keeps it with its summary fields)."""
    version = run.loadgen_version or run.summary.get("loadgen_version")
    return str(version) if version else None


def record_rules(properties: MutableSequence[tuple[str, object]], runs: Sequence[AgentResult]) -> RuleReport:
    """Append the merged ``audits`` and the ``mlperf_rules`` report to a test's properties."""
    report = rules_for(runs, properties)
    audits = merged_audits(properties)
    if audits:
        properties.append(("audits", audits))
    properties.append(("mlperf_rules", report.to_json()))
    return report
