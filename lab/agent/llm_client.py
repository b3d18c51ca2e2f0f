"""One streamed completion from an OpenAI-compatible endpoint, timed token by token (stdlib only).

Runs on the node next to the endpoint (the agent), so the network between controller and
node is not in the figures. ``on_first_token`` is called the moment the first token arrives
(LoadGen's ``FirstTokenComplete``).

::

    done = stream_completion("127.0.0.1:8000", "llama-3.1-8b-instruct", "Explain KV caches", 64)
    done.ttft_s, done.tpot_s, done.finish_reason, done.text
    done = stream_completion(address, model, prompt, 1024, ignore_eos=True)   # exactly 1024 tokens

``ignore_eos`` asks the engine to decode past its end-of-sequence token up to ``max_tokens``
(a fixed output length, as benchmarks need): the field is vLLM's extra sampling parameter of
``/v1/completions`` (``CompletionRequest.ignore_eos``, also vllm-rbln's) and llama.cpp's
server's; it is sent only when asked, so engines without it see the plain OpenAI request.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class EndpointError(RuntimeError):
    """The endpoint refused, broke off or answered something that is not an OpenAI stream."""


@dataclass
class Completion:
    """What one streamed request produced and when (seconds from the request's send)."""

    tokens: list[str] = field(default_factory=list)
    token_times: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False  # the stream ended with ``data: [DONE]``
    ident: str | None = None  # the endpoint's completion id (matches its own records)
    # the engine's own account of the request where its last event carries one (llama.cpp's
    # ``timings``: prompt_ms, predicted_ms, predicted_n...): the benchmarks' baseline on a real engine
    engine_timings: dict[str, float] | None = None
    usage_tokens: int | None = None  # completion tokens the stream's ``usage`` reports (None: it has none)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def ttft_s(self) -> float | None:
        return self.token_times[0] if self.token_times else None

    @property
    def tpot_s(self) -> float | None:
        """Mean seconds per output token after the first (MLPerf's TPOT)."""
        if len(self.token_times) < 2:
            return None
        return (self.token_times[-1] - self.token_times[0]) / (len(self.token_times) - 1)

    @property
    def complete(self) -> bool:
        """A finish reason and ``[DONE]`` were both seen: the stream was not cut."""
        return self.done and self.finish_reason is not None


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise EndpointError(f"endpoint address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def stream_completion(
    address: str,
    model: str,
    prompt: str,
    max_tokens: int,
    on_first_token: Callable[[], None] | None = None,
    timeout_s: float = 60.0,
    ignore_eos: bool = False,
) -> Completion:
    """Send one greedy (temperature 0) streamed completion and time every token event."""
    host, port = split_address(address)
    fields: dict[str, object] = {
        "model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
    }  # fmt: skip
    if ignore_eos:
        fields["ignore_eos"] = True
    body = json.dumps(fields)
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    result = Completion()
    try:
        began = time.perf_counter()
        connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            raise EndpointError(f"{address} answered HTTP {response.status}: {response.read(500)!r}")
        for raw in response:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                result.done = True
                break
            choice, ident, usage = _first_choice(payload)
            result.ident = result.ident or ident
            result.usage_tokens = usage if usage is not None else result.usage_tokens
            text = choice.get("text")
            if isinstance(text, str) and text:
                result.token_times.append(time.perf_counter() - began)
                result.tokens.append(text)
                if len(result.tokens) == 1 and on_first_token is not None:
                    on_first_token()
            reason = choice.get("finish_reason")
            if isinstance(reason, str):
                result.finish_reason = reason
                result.engine_timings = _engine_timings(payload)
    except (OSError, http.client.HTTPException) as error:
        raise EndpointError(f"{address}: {type(error).__name__}: {error}") from error
    finally:
        connection.close()
    return result


def _first_choice(payload: bytes) -> tuple[dict[str, object], str | None, int | None]:
    """The event's first choice, its id, and its ``usage.completion_tokens`` where it carries one."""
    try:
        event = json.loads(payload)
        choice = event["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise EndpointError(f"not an OpenAI completion event: {payload[:200]!r}") from error
    if not isinstance(choice, dict):
        raise EndpointError(f"not an OpenAI completion event: {payload[:200]!r}")
    ident = event.get("id")
    usage = event.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    counted = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    return choice, ident if isinstance(ident, str) else None, counted


def _engine_timings(payload: bytes) -> dict[str, float] | None:
    """The numbers of the event's ``timings`` object (llama.cpp's server), or None without one."""
    timings = json.loads(payload).get("timings")  # parsed once already by _first_choice
    if not isinstance(timings, dict):
        return None
    return {k: float(v) for k, v in timings.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def served_model(address: str, model: str, timeout_s: float = 10.0) -> dict[str, object]:
    """The endpoint's ``GET /v1/models`` entry for ``model`` (with ``precision`` where the engine says it).

    vLLM reports no precision field (its ``dtype`` is a launch option); the vendors' stacks
    differ: what the entry holds is returned as is, and ``{}`` when the model is not listed.
    """
    host, port = split_address(address)
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request("GET", "/v1/models")
        response = connection.getresponse()
        body = response.read(1 << 20)
        if response.status != 200:
            raise EndpointError(f"{address} answered HTTP {response.status} to GET /v1/models")
        listed = json.loads(body).get("data", [])
    except (OSError, http.client.HTTPException, ValueError, AttributeError) as error:
        raise EndpointError(f"{address}: GET /v1/models: {type(error).__name__}: {error}") from error
    finally:
        connection.close()
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return dict(entry)
    return {}
