"""The K-Cloud team's canonical run (성능): their prompt, sample count, output length and batch, their way.

Their 10-sample smoke step runs first; a failing smoke stops the run (as theirs does). Then the
canonical run: one greedy request at a time over the profile's prompt template and data set,
each response streamed by the agent on the node. Recorded side by side: their "TT100T" computed
their way (mean request time × 100 / max_tokens), what the name promises measured on the stream
(arrival of the 100th token), TTFT and TPOT, and, for a card they published a figure for, how far
ours sits from theirs (kcloud-vs-published). The LoadGen runs are the suite's other tests.

Their per-run ``result.json`` and CSV row are written as evidence (``kcloud-result.json``,
``kcloud-row.csv``): ``lab kcloud import RUN_DIR`` puts the row beside their history.
Settings and sources: inventory/profiles/kcloud-npu-v1.yaml (``kcloud_*``), docs/kcloud.md.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.criteria import not_computable
from lab.errors import LabError
from lab.kcloud.canonical import (
    TOKENS,
    CanonicalSettings,
    canonical_figures,
    deviation_percent,
    published_reference,
    sample_timing,
)
from lab.kcloud.results import (
    HW_OF_MODEL,
    VENDOR_OF_CATALOG,
    RunInfo,
    csv_row,
    csv_text,
    normalize_precision,
    result_json,
)
from lab.kcloud.run_power import RunPower
from lab.llm.session import LlmSession
from lab.performance.validity import InvalidRun
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, CriteriaView, LabNode, Measure
from lab.pytest_plugin.session import LabSession
from lab.results import write_evidence

ARTICLES = Path(__file__).parent / "data" / "kcloud_articles.json"
# inventory label: a JSON data set of the same shape (the real CNN/DailyMail on a real lab)
DATASET_LABEL = "kcloud-dataset"
# inventory label: the precision the endpoint serves, where its /v1/models entry does not say
# (llama.cpp's does not); neither: "unknown", never their FP8 by default
PRECISION_LABEL = "kcloud-precision"
# a scrape is one SSH command on the node (~50-100 ms): not more often than this
MIN_SCRAPE_INTERVAL_S = 0.2


def _dataset(node: LabNode) -> tuple[str, str, list[str]]:
    path = node.node.labels.get(DATASET_LABEL)
    document = json.loads(Path(str(path) if path else ARTICLES).read_text(encoding="utf-8"))
    articles = [str(item["article"]) for item in document["articles"]]
    return str(document["dataset"]), str(document["dataset_version"]), articles


def _their_vendor(node: LabNode, model: str) -> str:
    vendor = node.catalog[model].vendor if model in node.catalog else "unknown"
    return VENDOR_OF_CATALOG.get(vendor, vendor)


def _served(request: pytest.FixtureRequest, node: LabNode, settings: CanonicalSettings) -> tuple[str, str]:
    """The model and precision the endpoint really served (their file names what ran, never the
    profile's Llama when a stand-in served): the endpoint's own precision, else the node's label."""
    serving = node.node.serving
    model = serving.model if serving is not None else settings.model
    said = [str(value) for name, value in request.node.user_properties if name == "llm_precision"]
    label = node.node.labels.get(PRECISION_LABEL)
    precision = said[-1] if said else str(label) if label else "unknown"
    return model, normalize_precision(precision) or "UNKNOWN"  # their spelling: FP8, BF16, F32


def _not_computable(request: pytest.FixtureRequest, criteria: CriteriaView, name: str, why: str) -> None:
    request.node.stash.setdefault(MEASUREMENTS_KEY, []).append(
        not_computable(criteria[name], why, criteria.model)
    )


def _record_power(
    request: pytest.FixtureRequest,
    criteria: CriteriaView,
    node: LabNode,
    model: str,
    power: RunPower,
    window: tuple[float, float],
    tokens_per_s: float,
    measure: Measure,
) -> None:
    """The run's card power from the exporter their dashboard reads (checked against the vendor
    tool) over the run's own window, and the run's tokens/s per watt over the same window."""
    why: str | None = None
    watts: float | None = None
    if not power.sources:
        why = power.result(()).why
    else:
        try:
            reports = node.adapter(model).list_devices() if model in node.catalog else ()
        except LabError as error:
            why = f"the vendor tool did not list the cards: {error}"
        else:
            result = power.result(reports, window)
            watts, why = result.watts, result.why
            if watts is not None:
                request.node.user_properties += [
                    ("kcloud_power_source", result.source),
                    ("kcloud_power_scrapes", result.scrapes),
                    ("kcloud_power_window_s", round(window[1] - window[0], 3)),
                    ("kcloud_power_checks", "; ".join(result.checks)),
                ]
    if watts is None or watts <= 0:
        why = why or f"the exporter read {watts} W"
        _not_computable(request, criteria, "kcloud-power", why)
        _not_computable(request, criteria, "kcloud-tokens-per-second-per-watt", f"no run power: {why}")
        return
    measure("kcloud-power", watts)
    measure("kcloud-tokens-per-second-per-watt", tokens_per_s / watts)


def _interval(node: LabNode, chunk_s: float) -> float:
    """The profile's telemetry interval (the LLM suite's card watch samples at the same), shortened
    so that a chunk as long as the smoke step still gets ~5 scrapes inside the run's window (a short
    run can last about one interval: none would fall inside it), never below MIN_SCRAPE_INTERVAL_S."""
    interval = node.profile.settings.get("telemetry_interval_seconds", 1.0)
    telemetry = float(interval) if isinstance(interval, int | float) else 1.0
    return max(MIN_SCRAPE_INTERVAL_S, min(telemetry, chunk_s / 5))


def test_kcloud_canonical_run(
    request: pytest.FixtureRequest,
    node: LabNode,
    llm: LlmSession,
    measure: Measure,
    criteria: CriteriaView,
    lab: LabSession,
) -> None:
    """Their canonical run after their smoke step; their figures beside ours; their result files written."""
    settings = CanonicalSettings.from_profile(node.profile.settings)
    dataset, version, articles = _dataset(node)
    short = LabSession.of(request.config).options.perf_duration is not None
    count = settings.smoke_samples if short else settings.samples
    request.node.user_properties += [("kcloud_dataset", f"{dataset} {version}"), ("kcloud_samples", count)]

    def run(prompts: list[str]) -> list[dict[str, object]]:
        samples = [{"prompt": prompt, "max_tokens": settings.max_tokens} for prompt in prompts]
        outputs = llm.accuracy(samples, prompts)
        if len(outputs) != len(prompts):
            raise InvalidRun(f"the agent returned {len(outputs)} responses for {len(prompts)} prompts")
        return outputs

    smoke_began = time.monotonic()
    smoke = canonical_figures(run(settings.prompts(articles, settings.smoke_samples)), settings.max_tokens)
    smoke_s = time.monotonic() - smoke_began
    measure("kcloud-smoke", smoke.failed)  # FAIL stops here, as their smoke step does

    model = criteria.model or ""
    power = RunPower(node.transport, node.catalog[model].tool if model in node.catalog else "", node.name)
    prompts = settings.prompts(articles, count)
    # the exporter their dashboard reads is scraped in the background while the run runs; the
    # figure uses the scrapes inside the run's own window
    outputs: list[dict[str, object]] = []
    with power.sampling(_interval(node, smoke_s)):
        started = datetime.now(UTC)
        chunk = settings.smoke_samples  # one agent call per chunk: each stays within the agent's deadline
        for first in range(0, count, chunk):
            outputs += run(prompts[first : first + chunk])
        completed = datetime.now(UTC)
    window = (started.timestamp(), completed.timestamp())
    figures = canonical_figures(outputs, settings.max_tokens)
    ours = {
        "ttft_mean_s": figures.ttft_mean_s, "tpot_mean_s": figures.tpot_mean_s,
        "time_to_100_tokens_s": figures.time_to_100_tokens_s, "reached_100_tokens": figures.reached_100,
        "dataset": dataset, "dataset_version": version, "short_run": short, "node": node.name,
    }  # fmt: skip
    served_model, precision = _served(request, node, settings)
    hw = HW_OF_MODEL.get(model)
    # their card names only for their cards, measured for real: an emulated card is labelled so, and
    # its row never joins the real card's series
    hardware = (
        None
        if hw and not node.node.emulated
        else f"{model or 'unknown'}{' (emulated)' if node.node.emulated else ''}"
    )
    document = result_json(
        RunInfo(
            run_id=f"lab-{lab.run_id}-{node.name}", hw=hw or model, model=served_model, precision=precision,
            n_samples=count, max_tokens=settings.max_tokens, started_at=started.isoformat(),
            completed_at=completed.isoformat(), elapsed_wall_s=(completed - started).total_seconds(),
            dataset=dataset, dataset_version=version, hardware=hardware,
            vendor=_their_vendor(node, model) if hardware else None,
        ),
        [sample_timing(output) for output in outputs],
        lab_figures=ours,
    )  # fmt: skip
    evidence = [
        write_evidence(
            lab.run_dir, request.node.nodeid, "kcloud-result.json", json.dumps(document, indent=2)
        ),
        write_evidence(lab.run_dir, request.node.nodeid, "kcloud-row.csv", csv_text([csv_row(document)])),
    ]
    if figures.derived_tt100t_s is None or figures.tokens_per_s is None:
        raise InvalidRun(f"all {count} canonical responses failed: no figure to record")
    measure("kcloud-tt100t-derived", figures.derived_tt100t_s, evidence=evidence)
    measure("kcloud-tokens-per-second", figures.tokens_per_s, evidence=evidence)
    if figures.ttft_mean_s is not None:
        measure("kcloud-ttft", figures.ttft_mean_s * 1000.0)
    if figures.tpot_mean_s is not None:
        measure("kcloud-tpot", figures.tpot_mean_s * 1000.0)
    _record_power(request, criteria, node, model, power, window, figures.tokens_per_s, measure)
    if figures.time_to_100_tokens_s is None:
        _not_computable(
            request, criteria, "kcloud-time-to-100-tokens",
            f"no response reached {TOKENS} tokens (the longest had {figures.longest_output})",
        )  # fmt: skip
    else:
        measure("kcloud-time-to-100-tokens", figures.time_to_100_tokens_s)
    reference = published_reference(node.profile.settings, model)
    if reference is None:
        _not_computable(
            request, criteria, "kcloud-vs-published", f"the K-Cloud team published no figure for {model}"
        )
        return
    # their figures beside ours in the report (lab.report.references), never as measurements
    request.node.user_properties += [
        ("reference:kcloud-tt100t-derived", reference.tt100t_s),
        ("reference:kcloud-tokens-per-second", reference.tokens_per_s),
        ("reference_source", reference.source),
    ]
    if reference.ttft_s is not None:
        request.node.user_properties.append(("reference:kcloud-ttft", reference.ttft_s * 1000.0))
    deviation = deviation_percent(figures.derived_tt100t_s, reference.tt100t_s)
    if node.node.emulated:
        # their figure is of their real card: an emulated card's timing is a model of the card,
        # so "within x %" is not a verdict on it (shown beside, never judged)
        request.node.user_properties.append(("kcloud_deviation_percent", round(deviation, 1)))
        _not_computable(
            request, criteria, "kcloud-vs-published",
            f"the published figure is of a real {model}; this card is emulated"
            f" ({deviation:.1f} % apart, not judged)",
        )  # fmt: skip
        return
    measure("kcloud-vs-published", deviation)
