"""The agent's request and result, as plain JSON (stdlib only: this runs on the node).

Request (a JSON file whose path is the agent's only argument)::

    {"scenario": "Offline",                       # Offline | SingleStream | MultiStream | Server
     "backend": {"name": "emulated", "options": {"model": "resnet50", "batch": 8}},
     "devices": [0, 1],                           # cards driven at once (one worker each)
     "min_duration_s": 1.0, "min_query_count": 64,
     "sample_count": 1024,                        # the QSL's size (and performance sample count)
     "expected_qps": null,                        # Offline: null = probe the backend first
     "target_qps": 500.0, "latency_bound_ms": 15, # Server
     "samples_per_query": 8,                      # MultiStream
     "expected_latency_ms": 2.0,                  # SingleStream/MultiStream hint
     "mlperf_model": "resnet50",                  # mlperf.conf's name ("*": its generic rules only)
     "issue_same_sample": null,                   # TEST04: an index LoadGen issues every time
     "mode": "PerformanceOnly",                   # or AccuracyOnly: every sample once, outputs logged
     "accuracy_log_sampling_target": 64,          # PerformanceOnly: log ~64 outputs (TEST01); 0 = none
     "accuracy_log_rng_seed": 720381539243781796, # which ones (MLPerf's audit.config seed)
     "telemetry": {"commands": [["rbln-smi", "--json"]], "interval_s": 1.0},
     "deadline_s": 120,
     "output_dir": "/tmp/kcloud-agent/run-1"}

Result: one JSON object on stdout, ``{"status": "ok", ...}`` or ``{"status": "error",
"error": "..."}`` (exit status 0 and 3 respectively; 2 for a bad request).

Besides the LoadGen scenarios the agent runs the suites' other workloads (``lab.agent.workloads``),
one card each, with the same backends::

    {"scenario": "Smoke", "inputs": [[...256 floats...], ...]}     # → {"outputs": [[...], ...]}
    {"scenario": "Run", "query_count": 20}                        # 20 queries, then exit
    {"scenario": "Hold", "seconds": 60}                           # own the card (isolation check)
    {"scenario": "Windows", "seconds": 600, "window_s": 60}       # a soak: one line per window

A card another process owns gives ``{"status": "busy", ...}`` and exit status 4; a card that
cannot be opened ``{"status": "error", "kind": "device", ...}`` (the card's fault), a missing
runtime ``"kind": "runtime"`` (the node's). ``Hold`` and ``Windows`` print progress lines
(``{"holding": ...}``, ``{"window": ...}``) as they happen, before the final result.
"""

from __future__ import annotations

import json

SCENARIOS = ("Offline", "SingleStream", "MultiStream", "Server")
MODES = ("PerformanceOnly", "AccuracyOnly")
MLPERF_MIN_DURATION_S = 600.0  # below this a run is a "short run", not MLPerf-compliant
EXIT_OK = 0
EXIT_BAD_REQUEST = 2
EXIT_ERROR = 3
EXIT_BUSY = 4
WORKLOADS = ("Smoke", "Run", "Hold", "Windows")


class RequestError(ValueError):
    """The request file is missing a field or has a wrong value."""


class Request:
    """A validated agent request (see the module docstring)."""

    def __init__(self, data: dict[str, object]) -> None:
        self.data = data
        self.scenario = _choice(data, "scenario", SCENARIOS + WORKLOADS)
        backend = data.get("backend")
        if not isinstance(backend, dict) or not isinstance(backend.get("name"), str):
            raise RequestError("backend must be an object with a string 'name'")
        self.backend_name: str = backend["name"]
        options = backend.get("options", {})
        if not isinstance(options, dict):
            raise RequestError("backend.options must be an object")
        self.backend_options: dict[str, object] = options
        devices = data.get("devices", [0])
        if not isinstance(devices, list) or not devices or not all(_is_int(d) and d >= 0 for d in devices):
            raise RequestError("devices must be a non-empty list of card indexes")
        self.devices: list[int] = [int(d) for d in devices]
        self.min_duration_s = _number(data, "min_duration_s", 600.0, low=0.01)
        self.min_query_count = int(_number(data, "min_query_count", 1, low=1))
        self.sample_count = int(_number(data, "sample_count", 1024, low=1))
        self.expected_qps = _optional_number(data, "expected_qps")
        self.target_qps = _optional_number(data, "target_qps")
        self.latency_bound_ms = _optional_number(data, "latency_bound_ms")
        self.samples_per_query = int(_number(data, "samples_per_query", 8, low=1))
        self.expected_latency_ms = _optional_number(data, "expected_latency_ms")
        same = data.get("issue_same_sample")
        if same is not None and not (isinstance(same, int) and not isinstance(same, bool) and same >= 0):
            raise RequestError(f"issue_same_sample must be a sample index or null, got {same!r}")
        self.issue_same_sample: int | None = same  # TEST04: LoadGen issues this sample every time
        model = data.get("mlperf_model", options.get("model", "*"))
        if not _conf_name(model):
            if "mlperf_model" in data:
                raise RequestError(
                    f"mlperf_model must be a model name of mlperf.conf (or '*'), got {model!r}"
                )
            model = "*"  # a backend's model option that is no mlperf.conf name: its generic rules
        self.mlperf_model = str(model)  # the name mlperf.conf's lines are looked up under
        self.deadline_s = _number(data, "deadline_s", 3600.0, low=1.0)
        self.mode = _choice({"mode": data.get("mode", MODES[0])}, "mode", MODES)
        self.accuracy_log_sampling_target = int(_number(data, "accuracy_log_sampling_target", 0, low=0))
        seed = data.get("accuracy_log_rng_seed", 0)
        if not _is_int(seed) or not 0 <= seed < 2**64:  # type: ignore[operator]
            raise RequestError(f"accuracy_log_rng_seed must be an integer in [0, 2**64), got {seed!r}")
        self.accuracy_log_rng_seed: int = seed  # type: ignore[assignment]
        output_dir = data.get("output_dir")
        if not isinstance(output_dir, str) or not output_dir:
            raise RequestError("output_dir must be a path")
        self.output_dir = output_dir
        telemetry = data.get("telemetry") or {}
        if not isinstance(telemetry, dict):
            raise RequestError("telemetry must be an object")
        commands = telemetry.get("commands", [])
        if not isinstance(commands, list) or not all(
            isinstance(c, list) and c and all(isinstance(a, str) for a in c) for c in commands
        ):
            raise RequestError("telemetry.commands must be a list of argument lists")
        self.telemetry_commands: list[list[str]] = commands
        self.telemetry_interval_s = _number(telemetry, "interval_s", 1.0, low=0.05)
        self.seconds = _number(data, "seconds", 60.0, low=0.01)
        self.window_s = _number(data, "window_s", 60.0, low=0.001)
        self.query_count = int(_number(data, "query_count", 20, low=1))
        inputs = data.get("inputs", [])
        if not isinstance(inputs, list) or not all(
            isinstance(row, list) and all(isinstance(v, int | float) for v in row) for row in inputs
        ):
            raise RequestError("inputs must be a list of rows of numbers")
        self.inputs: list[list[float]] = inputs
        if self.scenario == "Smoke" and not inputs:
            raise RequestError("the Smoke workload needs inputs")
        if self.scenario == "Server" and (self.target_qps is None or self.latency_bound_ms is None):
            raise RequestError("the Server scenario needs target_qps and latency_bound_ms")

    @classmethod
    def from_file(cls, path: str) -> Request:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as error:
            raise RequestError(f"cannot read the request {path}: {error}") from error
        if not isinstance(data, dict):
            raise RequestError("the request must be a JSON object")
        return cls(data)

    @property
    def workload(self) -> bool:
        """True for the non-LoadGen workloads (``WORKLOADS``)."""
        return self.scenario in WORKLOADS

    @property
    def accuracy_mode(self) -> bool:
        return self.mode == "AccuracyOnly"

    @property
    def keeps_outputs(self) -> bool:
        """Whether responses carry the samples' outputs (an accuracy run, or a sampled audit)."""
        return self.accuracy_mode or self.accuracy_log_sampling_target > 0

    @property
    def short_run(self) -> bool:
        return self.min_duration_s < MLPERF_MIN_DURATION_S


def _conf_name(value: object) -> bool:
    """A name mlperf.conf's ``model.scenario.key`` lines can hold (no dot, no blank)."""
    return isinstance(value, str) and bool(value) and not any(c.isspace() or c in ".=#" for c in value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(data: dict[str, object], key: str, choices: tuple[str, ...]) -> str:
    value = data.get(key)
    if value not in choices:
        raise RequestError(f"{key} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _number(data: dict[str, object], key: str, default: float, *, low: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise RequestError(f"{key} must be a number >= {low}, got {value!r}")
    return float(value)


def _optional_number(data: dict[str, object], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise RequestError(f"{key} must be a positive number or null, got {value!r}")
    return float(value)
