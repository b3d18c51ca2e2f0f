"""Their canonical run: settings from the profile, prompts their way, figures their way and ours.

Their run (openkcloud/kcloud-mlperf ``mlperf_cnndm100_fp8.py`` at eb881eb, and the "Locked benchmark
configuration" of ``app/docs/reports/demo-monday/cross-vendor-tt100t-audit.md`` at d86f533):
Llama-3.1-8B-Instruct, the first 100 CNN/DailyMail 3.0.0 articles cut to 2,000 characters in
``"Summarize the following article in a few sentences:\\n\\n{article}"``, max_tokens 128,
temperature 0, one request at a time (batch 1), a 10-sample smoke step first.

Their "TT100T" is *derived*: mean whole-request time × 100 / max_tokens. It is computed here
exactly so (``derived_tt100t_s``) to compare with their published figures, and beside it what
the name promises, measured on the stream: the time the 100th output token arrived
(``time_to_100_tokens_s``, over the responses that reached 100 tokens; none reached: not
computable), plus TTFT and TPOT.

::

    settings = CanonicalSettings.from_profile(profile.settings)
    prompts = settings.prompts(articles)                      # their template, their cut
    timings, figures = canonical_figures(outputs)             # outputs: the agent's streamed completions
    reference = published_reference(profile.settings, "rngd") # their published figure, or None
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.inventory.model import Scalar
from lab.kcloud.results import SampleTiming

TOKENS = 100  # the figure's name: time to 100 output tokens

# catalog model → the profile settings holding their published figures for it (tt100t s, tok/s, TTFT s)
REFERENCE_SETTINGS: Mapping[str, tuple[str, str, str | None]] = {
    "rngd": ("kcloud_reference_rngd_tt100t_seconds", "kcloud_reference_rngd_tokens_per_second", None),
    "atom-plus": (
        "kcloud_reference_atom_plus_tt100t_seconds",
        "kcloud_reference_atom_plus_tokens_per_second",
        "kcloud_reference_atom_plus_ttft_seconds",
    ),
    "l40": ("kcloud_reference_l40_tt100t_seconds", "kcloud_reference_l40_tokens_per_second", None),
    "a40": ("kcloud_reference_a40_tt100t_seconds", "kcloud_reference_a40_tokens_per_second", None),
}
REFERENCE_SOURCE = (
    "openkcloud/kcloud-mlperf@d86f5339b779f720ff64af5ae732d2d983e8b532 "
    "app/docs/reports/demo-monday/cross-vendor-tt100t-audit.md, Sweep 1: Canonical (their figures, not ours)"
)


def _number(settings: Mapping[str, Scalar], key: str) -> float:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"profile setting {key}: a number is needed, got {value!r}")
    return float(value)


def _text(settings: Mapping[str, Scalar], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"profile setting {key}: a text is needed, got {value!r}")
    return value


@dataclass(frozen=True)
class CanonicalSettings:
    """The canonical run as the profile states it."""

    model: str
    template: str
    article_chars: int
    samples: int
    smoke_samples: int
    max_tokens: int
    batch_size: int
    temperature: float

    @classmethod
    def from_profile(cls, settings: Mapping[str, Scalar]) -> CanonicalSettings:
        template = _text(settings, "kcloud_prompt_template")
        if "{article}" not in template:
            raise ValueError("profile setting kcloud_prompt_template: must contain {article}")
        made = cls(
            model=_text(settings, "kcloud_model"),
            template=template,
            article_chars=int(_number(settings, "kcloud_article_chars")),
            samples=int(_number(settings, "kcloud_samples")),
            smoke_samples=int(_number(settings, "kcloud_smoke_samples")),
            max_tokens=int(_number(settings, "kcloud_max_tokens")),
            batch_size=int(_number(settings, "kcloud_batch_size")),
            temperature=_number(settings, "kcloud_temperature"),
        )
        if made.batch_size != 1 or made.temperature != 0:
            raise ValueError("the canonical run is greedy (temperature 0) at batch 1, as theirs")
        if not 0 < made.smoke_samples <= made.samples:
            raise ValueError("kcloud_smoke_samples must be between 1 and kcloud_samples")
        return made

    def prompts(self, articles: Sequence[str], count: int) -> list[str]:
        """Their prompt over the first ``count`` articles, each cut to ``article_chars`` characters."""
        if len(articles) < count:
            raise ValueError(f"the data set has {len(articles)} articles, the run needs {count}")
        return [
            self.template.replace("{article}", article[: self.article_chars]) for article in articles[:count]
        ]


@dataclass(frozen=True)
class CanonicalFigures:
    """One run's figures: theirs (derived) and ours (measured on the stream)."""

    derived_tt100t_s: float | None  # their derivation: mean request time × 100 / max_tokens
    tokens_per_s: float | None  # their throughput: all output tokens / summed request time
    ttft_mean_s: float | None
    tpot_mean_s: float | None
    time_to_100_tokens_s: float | None  # measured: mean arrival time of the 100th token
    reached_100: int  # responses that produced at least 100 tokens
    longest_output: int
    failed: int  # responses with no token, or a stream cut without a finish reason


def sample_timing(output: Mapping[str, object]) -> SampleTiming:
    """Their per-sample record of one streamed response: elapsed = arrival of its last token."""
    times = output.get("token_times")
    tokens = output.get("tokens")
    count = len(tokens) if isinstance(tokens, list) else 0
    if not isinstance(times, list) or not times or count == 0:
        return SampleTiming(0.0, 0, "no output token")
    if output.get("finish_reason") is None or output.get("done") is False:
        return SampleTiming(0.0, 0, "stream cut without a finish reason")
    return SampleTiming(float(times[-1]), count)


def canonical_figures(outputs: Sequence[Mapping[str, object]], max_tokens: int) -> CanonicalFigures:
    """Figures of the streamed responses of one run (their derivations and our measurements)."""
    timings = [sample_timing(output) for output in outputs]
    good = [(output, timing) for output, timing in zip(outputs, timings, strict=True) if timing.error is None]
    times = [timing.elapsed_s for _, timing in good]
    first = [float(output["token_times"][0]) for output, _ in good]  # type: ignore[index]
    per_token = [
        (float(output["token_times"][-1]) - float(output["token_times"][0])) / (timing.output_tokens - 1)  # type: ignore[index]
        for output, timing in good
        if timing.output_tokens > 1
    ]
    hundredth = [
        float(output["token_times"][TOKENS - 1])  # type: ignore[index]
        for output, timing in good
        if timing.output_tokens >= TOKENS
    ]
    total = sum(times)
    return CanonicalFigures(
        derived_tt100t_s=statistics.mean(times) * TOKENS / max_tokens if times else None,
        tokens_per_s=sum(timing.output_tokens for _, timing in good) / total if total > 0 else None,
        ttft_mean_s=statistics.mean(first) if first else None,
        tpot_mean_s=statistics.mean(per_token) if per_token else None,
        time_to_100_tokens_s=statistics.mean(hundredth) if hundredth else None,
        reached_100=len(hundredth),
        longest_output=max((timing.output_tokens for timing in timings), default=0),
        failed=len(timings) - len(good),
    )


@dataclass(frozen=True)
class Reference:
    """Their published figures for one card type (documented reference values, never ours)."""

    model: str
    tt100t_s: float
    tokens_per_s: float
    ttft_s: float | None
    source: str = REFERENCE_SOURCE


def published_reference(settings: Mapping[str, Scalar], model: str | None) -> Reference | None:
    """Their published figures for catalog ``model`` from the profile, or None when they published none."""
    keys = REFERENCE_SETTINGS.get(model or "")
    if keys is None or keys[0] not in settings:
        return None
    ttft = _number(settings, keys[2]) if keys[2] is not None and keys[2] in settings else None
    return Reference(str(model), _number(settings, keys[0]), _number(settings, keys[1]), ttft)


def deviation_percent(ours: float, published: float) -> float:
    """|ours − published| / published, in %: how far our figure sits from theirs."""
    if published <= 0:
        raise ValueError(f"a published figure must be > 0, got {published}")
    return abs(ours - published) / published * 100.0
