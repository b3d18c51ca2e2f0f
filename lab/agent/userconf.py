"""LoadGen settings the way MLPerf sets them: LoadGen's own mlperf.conf, then the lab's user.conf.

MLPerf submissions never set ``TestSettings`` fields by hand: LoadGen loads its built-in
``mlperf.conf`` (the rules: 600 s, minimum query counts, the round's seeds) and then the
submitter's ``user.conf`` (target QPS, expected latency) through
``TestSettings.FromConfig(path, model, scenario, conf_type)``. The agent does the same: it writes
the lab's choices as a user.conf next to LoadGen's logs (evidence of what the lab asked for) and
lets LoadGen apply both::

    text = user_conf(request, model="resnet50", expected_qps=1500.0)
    #  resnet50.Offline.min_duration = 2000
    #  resnet50.Offline.min_query_count = 1
    #  resnet50.Offline.performance_sample_count_override = 1024
    #  resnet50.Offline.target_qps = 1500.0
    settings = from_config(lg, path, "resnet50", "Offline")

LoadGen applies mlperf.conf only on the first ``FromConfig`` of a process (a process-wide
flag), so ``from_config`` keeps that first load and starts every later TestSettings from a copy
of it. Values user.conf cannot express (it takes whole milliseconds: a 0.3 ms expected
latency) are set on the TestSettings afterwards and listed in the file as comments.
"""

from __future__ import annotations

from typing import Any

from .protocol import Request

USER_CONF = "user.conf"
_BASE: dict[tuple[str, str], Any] = {}


def _whole(value: float) -> bool:
    return float(value).is_integer() and value >= 1


def user_conf(request: Request, model: str, expected_qps: float | None) -> tuple[str, dict[str, float]]:
    """The user.conf text for ``request`` and the settings it cannot hold (name → value)."""
    scenario = request.scenario
    lines = [
        "# written by the kcloud-lab agent: the lab's choices over LoadGen's built-in mlperf.conf",
        f"{model}.{scenario}.min_duration = {round(request.min_duration_s * 1000)}",
        f"{model}.{scenario}.min_query_count = {request.min_query_count}",
        f"{model}.{scenario}.performance_sample_count_override = {request.sample_count}",
    ]
    direct: dict[str, float] = {}
    if request.issue_same_sample is not None:  # TEST04's audit.config
        lines += [
            f"{model}.{scenario}.performance_issue_unique = 0",
            f"{model}.{scenario}.performance_issue_same = 1",
            f"{model}.{scenario}.performance_issue_same_index = {request.issue_same_sample}",
        ]
    if scenario == "Offline":
        lines.append(f"{model}.Offline.target_qps = {expected_qps or 1.0!r}")
    elif scenario == "Server":
        lines.append(f"{model}.Server.target_qps = {request.target_qps!r}")
        bound = request.latency_bound_ms or 0.0
        if _whole(bound):
            lines.append(f"{model}.Server.target_latency = {int(bound)}")
        else:
            direct["server_target_latency_ns"] = bound * 1e6
    elif scenario == "MultiStream":
        lines.append(f"{model}.MultiStream.samples_per_query = {request.samples_per_query}")
    if scenario in ("SingleStream", "MultiStream") and request.expected_latency_ms:
        key = (
            "single_stream_expected_latency_ns"
            if scenario == "SingleStream"
            else "multi_stream_expected_latency_ns"
        )
        if _whole(request.expected_latency_ms):
            lines.append(f"{model}.{scenario}.target_latency = {int(request.expected_latency_ms)}")
        else:
            direct[key] = request.expected_latency_ms * 1e6
    for name, value in direct.items():
        lines.append(f"# {name} = {int(value)} (set directly: user.conf takes whole milliseconds)")
    return "\n".join(lines) + "\n", direct


def _copy(lg: Any, base: Any) -> Any:
    settings = lg.TestSettings()
    for name in dir(base):
        if not name.startswith("_") and not callable(getattr(base, name)):
            setattr(settings, name, getattr(base, name))
    return settings


def from_config(lg: Any, path: str, model: str, scenario: str) -> Any:
    """A TestSettings with LoadGen's mlperf.conf for (model, scenario) and then ``path``'s
    user.conf applied by LoadGen itself; ``RuntimeError`` when LoadGen refuses the file."""
    key = (model, scenario)
    if key not in _BASE:
        if _BASE:
            raise RuntimeError(
                f"LoadGen applies mlperf.conf once per process, already for {next(iter(_BASE))}: "
                f"run {key} in its own agent process"
            )
        base = lg.TestSettings()
        status = base.FromConfig(path, model, scenario, 0)  # 0: mlperf.conf only
        if status != 0:
            raise RuntimeError(f"LoadGen could not load its mlperf.conf for {model}/{scenario} ({status})")
        _BASE[key] = base
    settings = _copy(lg, _BASE[key])
    status = settings.FromConfig(path, model, scenario, 1)
    if status != 0:
        raise RuntimeError(f"LoadGen refused the user.conf {path} (status {status})")
    return settings


def mlperf_conf_seeds(model: str, scenario: str) -> list[int] | None:
    """The seeds mlperf.conf gave (qsl, sample index, schedule), once it has been loaded."""
    base = _BASE.get((model, scenario))
    if base is None:
        return None
    return [int(base.qsl_rng_seed), int(base.sample_index_rng_seed), int(base.schedule_rng_seed)]
