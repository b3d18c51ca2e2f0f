"""One node's LLM endpoint driven through the agent (LoadGen on the node) and the figures it gives.

The prompt set and its greedy references are the suite's data (testsuites/llm/data); the
agent runs next to the endpoint, so controller–node network time is not in TTFT/TPOT.

::

    watch = CardWatch(telemetry_commands(factory, transport), factory, targets=serving.cards)
    session = LlmSession(AgentRunner(transport), serving, duration_s=2.0, watch=watch,
                         record=lambda name, value: print(name, value))
    figures = session.offline(); figures.tokens_per_s, figures.validity, figures.served_by
    figures = session.server(target_qps=2.0); figures.ttft_p99_ms, figures.tpot_p99_ms
    outputs = session.accuracy(samples)    # [{"text", "first_token", "finish_reason", ...}]

With a ``CardWatch`` every run (Offline, Server, accuracy) samples the node's vendor tool and
must prove it was served by ``serving.cards`` (:mod:`lab.llm.silicon`): otherwise
``NotServedError`` (ERROR, "not served by the cards under test"). ``record`` receives, per
run, the cards that did the work (``llm_served_by``), each card's peaks and the precision the
endpoint reports (``llm_precision``), before any error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lab.inventory.model import Node, Serving
from lab.llm.silicon import SiliconProof, prove_served
from lab.performance.agent_runner import AgentRunner
from lab.performance.host_busy import HostPressure
from lab.performance.result import AgentResult
from lab.performance.telemetry import AdapterFactory, card_series, mean_power
from lab.performance.wall_power import RESULT_KEY as WALL_POWER_KEY
from lab.performance.wall_power import WallPowerWatch, WallSeries

DEFAULT_DURATION_S = 600.0  # MLPerf's minimum run; --lab-perf-duration shortens it
OFFLINE_CONCURRENCY = 16
MAX_TOKENS = 32
DEADLINE_MARGIN_S = 120.0


@dataclass(frozen=True)
class CardWatch:
    """What to sample during each run to prove which cards served it."""

    commands: Sequence[Sequence[str]]  # the vendor tool's listing (lab.performance.telemetry_commands)
    factory: AdapterFactory
    targets: tuple[int, ...]  # serving.cards: the cards under test
    dies_per_card: int = 1
    interval_s: float = 1.0
    tdp_watts: float | None = None  # the catalog's, for tools that report power but no utilisation
    proofs: list[SiliconProof] = field(default_factory=list)


Record = Callable[[str, object], None]


@dataclass(frozen=True)
class LlmFigures:
    """What one LoadGen run measured, in the units the profile judges."""

    validity: str | None
    tokens_per_s: float | None
    ttft_p99_ms: float | None
    tpot_p99_ms: float | None
    invalid_reason: str | None
    result: AgentResult
    client_tpot_p99_ms: float | None = None  # the client's own (LoadGen's Offline reports no TPOT)

    @classmethod
    def of(cls, result: AgentResult) -> LlmFigures:
        detail = result.data.get("detail")
        values: Mapping[str, object] = detail if isinstance(detail, Mapping) else {}

        def number(key: str, scale: float = 1.0) -> float | None:
            value = values.get(key)
            return float(value) * scale if isinstance(value, int | float) else None

        reason = values.get("result_invalid_reason")
        client = result.data.get("client")
        client_tpot = client.get("tpot_p99_s") if isinstance(client, Mapping) else None
        return cls(
            validity=str(values.get("result_validity")) if values.get("result_validity") else None,
            tokens_per_s=number("result_tokens_per_second") or number("result_completed_tokens_per_second"),
            ttft_p99_ms=number("result_first_token_99.00_percentile_latency_ns", 1e-6),
            tpot_p99_ms=number("result_time_per_output_token_99.00_percentile_ns", 1e-6),
            invalid_reason=str(reason) if reason else None,
            result=result,
            client_tpot_p99_ms=float(client_tpot) * 1e3 if isinstance(client_tpot, int | float) else None,
        )


class LlmSession:
    def __init__(
        self,
        runner: AgentRunner,
        serving: Serving,
        *,
        duration_s: float | None = None,
        watch: CardWatch | None = None,
        record: Record | None = None,
        wall: Node | None = None,
        host: HostPressure | None = None,
    ) -> None:
        self.runner = runner
        self.host = host  # notes each run's CPU pressure: a miss on a busy controller is inconclusive
        self.serving = serving
        self.duration_s = duration_s or DEFAULT_DURATION_S
        self.watch = watch
        self.record = record or (lambda name, value: None)
        # the node's BMC gives wall power; one that cannot be read leaves only the per-wall-watt
        # figure ERROR, never the run (WallPowerWatch)
        interval = watch.interval_s if watch is not None else 1.0
        self.wall = (
            WallPowerWatch(wall, interval_s=interval) if wall is not None and wall.bmc is not None else None
        )
        self._runs = 0

    def _run(self, request: dict[str, object], label: str) -> AgentResult:
        """Run ``request`` on the agent, sampling the cards; raise unless the cards under test served it."""
        watch = self.watch
        if watch is not None:
            request["telemetry"] = {
                "commands": [list(c) for c in watch.commands],
                "interval_s": watch.interval_s,
            }
        if self.wall is None:
            result = self.runner.run(request, label=label)
        else:
            result = self.wall.around(lambda: self.runner.run(request, label=label))
        if self.host is not None:
            self.host.note(result.host_cpu_pressure)
        endpoint = result.data.get("endpoint")
        if isinstance(endpoint, Mapping) and endpoint.get("precision"):
            self.record("llm_precision", str(endpoint["precision"]))
        if watch is not None:
            proof = prove_served(
                result, watch.factory, watch.commands, watch.targets, watch.dies_per_card, watch.tdp_watts
            )
            watch.proofs.append(proof)
            self.record(f"llm_served_by[{label}]", ", ".join(f"card {c}" for c in proof.active) or "none")
            self.record(
                f"llm_cards[{label}]", "; ".join(a.describe() for _, a in sorted(proof.cards.items()))
            )
            proof.require()
        return result

    def endpoint_entry(self, model: str) -> dict[str, object]:
        """``model``'s ``GET /v1/models`` entry, asked by the agent on the node (runs nothing; ``{}``:
        not listed); its ``precision``, where the engine reports one, says what it serves."""
        request = {"kind": "llm", "probe": True, "address": self.serving.address, "model": model}
        entry = self.runner.run(request, label="llm-probe").data.get("endpoint")
        return dict(entry) if isinstance(entry, Mapping) else {}

    def close(self) -> None:
        """Close the BMC client (the agent runner is the caller's)."""
        if self.wall is not None:
            self.wall.close()

    def _request(self, prompts: Sequence[str], **fields: object) -> dict[str, object]:
        return {
            "kind": "llm",
            "address": self.serving.address,
            "model": self.serving.model,
            "prompts": list(prompts),
            "max_tokens": MAX_TOKENS,
            "min_duration_s": self.duration_s,
            "deadline_s": self.duration_s * 3 + DEADLINE_MARGIN_S,
            **fields,
        }

    def board_watts(self, result: AgentResult) -> float | None:
        """Mean board power of the cards under test over the run's window (W; None: not read)."""
        watch = self.watch
        if watch is None:
            return None
        first_dies = [card * watch.dies_per_card for card in watch.targets]
        return mean_power(card_series(result, watch.factory, watch.commands, first_dies), result.window)

    def wall_watts(self, result: AgentResult) -> tuple[float | None, WallSeries | None]:
        """Mean wall power over the run's window from the node's BMC, and its series (None: no BMC)."""
        series = WallSeries.from_json(result.data.get(WALL_POWER_KEY))
        window = result.wall_window
        if series is None or window is None:
            return None, series
        return series.mean(window), series

    def offline(
        self,
        prompts: Sequence[str],
        *,
        expected_qps: float = 4.0,
        concurrency: int = OFFLINE_CONCURRENCY,
        label: str = "llm-offline",
        extra: Mapping[str, object] | None = None,
    ) -> LlmFigures:
        """An Offline run with ``concurrency`` streams in flight (the sweep varies it); ``extra``
        overrides request fields (the grid's ``model``, ``max_tokens``, ``ignore_eos``)."""
        request = self._request(
            prompts, scenario="Offline", concurrency=concurrency, expected_qps=expected_qps,
            min_query_count=len(prompts), **(extra or {}),
        )  # fmt: skip
        return LlmFigures.of(self._run(request, label=label))

    def server(
        self, prompts: Sequence[str], *, target_qps: float, ttft_bound_ms: float, tpot_bound_ms: float
    ) -> LlmFigures:
        request = self._request(
            prompts, scenario="Server", target_qps=target_qps, ttft_bound_ms=ttft_bound_ms,
            tpot_bound_ms=tpot_bound_ms, min_query_count=len(prompts),
        )  # fmt: skip
        return LlmFigures.of(self._run(request, label="llm-server"))

    def accuracy(
        self, samples: Sequence[Mapping[str, object]], prompts: Sequence[str]
    ) -> list[dict[str, object]]:
        """Greedy outputs of ``samples`` (after a minimal Offline run that LoadGen needs anyway)."""
        request = self._request(
            prompts[:1], scenario="Offline", concurrency=1, min_duration_s=0.01, min_query_count=1,
            accuracy=[_accuracy_item(s) for s in samples],
        )  # fmt: skip
        outputs = self._run(request, label="llm-accuracy").data.get("accuracy")
        return [dict(item) for item in outputs] if isinstance(outputs, list) else []


def _accuracy_item(sample: Mapping[str, object]) -> dict[str, object]:
    """What the agent needs of one accuracy sample (``ignore_eos``: TEST06's length rule)."""
    return {
        "prompt": sample["prompt"],
        "max_tokens": sample["max_tokens"],
        "ignore_eos": sample.get("ignore_eos") is True,
    }
