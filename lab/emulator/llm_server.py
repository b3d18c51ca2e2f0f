"""An emulated card's OpenAI-compatible LLM endpoint: a continuous-batching engine that sleeps its steps.

It stands in for the vendors' serving stacks (furiosa-llm, vllm-rbln, vLLM), which are HTTP
servers: ``POST /v1/completions`` (``"stream": true`` gives server-sent events, one token per
event, then ``data: [DONE]``; ``"ignore_eos": true`` decodes up to ``max_tokens`` past the
end-of-sequence token, as vLLM and llama.cpp's server do), ``GET /v1/models`` (each model and
the precision it serves). Config ``models`` adds further models of the same card, each with its
own precision and timing (one engine each, as a node runs one serving process per model).
Timing follows :class:`lab.emulator.llm_timing.LlmCard`: requests are admitted while their
tokens fit in the KV cache (the rest queue), a prefill step yields the admitted requests'
first tokens, a decode step yields one token to every running request. ``GET /ground_truth``
gives, per finished request, the TTFT and TPOT the model scheduled (the step deadlines, not
the wake-ups), which tests compare with what a client measured.

Faults (config ``faults``): ``cut_after_tokens`` ends the stream after that many tokens
without a finish reason; ``wrong_tokens`` replaces every output token; the card's own
``throttle_after_s`` / ``throttle_factor`` slow decoding once hot.

On an emulated node (``$KCLOUD_EMU_NODE_DIR`` set) the engine's work lands on the node's
emulated cards ``load_cards`` (default ``cards``, default none) through
:class:`lab.emulator.llm_load.CardLoad`, so their vendor tool shows it; the test-bed's
``llm-served-elsewhere`` fault makes ``load_cards`` another card than the one declared.

::

    python -m lab.emulator.llm_server CONFIG.json READY_FILE   # READY_FILE gets "PORT\\n"

    CONFIG.json: {"model": "llama-3.1-8b-instruct", "precision": "bf16",
                  "card": {"decode_base_s": 0.012, ...}, "faults": {"wrong_tokens": true},
                  "models": {"llama-3.1-8b-instruct-fp8": {"precision": "fp8", "card": {...}}}}
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lab.emulator.defaults import NODE_DIR_ENV
from lab.emulator.llm_load import CardLoad
from lab.emulator.llm_text import VOCABULARY, continuation, input_tokens
from lab.emulator.llm_timing import LlmCard

MAX_BODY = 1 << 20
GROUND_TRUTH_KEPT = 100_000
LAG_CAUGHT_UP_S = 0.05


@dataclass
class _Request:
    number: int
    prompt_tokens: int
    words: list[str]
    finish: str
    arrival: float
    tokens: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    token_times: list[float] = field(default_factory=list)

    @property
    def kv_tokens(self) -> int:
        return self.prompt_tokens + len(self.words)


class Engine:
    """Continuous batching over one card's timing model; ``submit`` returns a request whose queue streams."""

    def __init__(
        self, card: LlmCard, load: CardLoad | None = None, numbers: Iterator[int] | None = None
    ) -> None:
        self.card = card
        self.load = load
        self.waiting: deque[_Request] = deque()
        self.running: list[_Request] = []
        self.kv_used = 0
        self.busy_s = 0.0
        self._numbers = numbers if numbers is not None else itertools.count(1)  # shared: unique ids
        self.truth: deque[dict[str, float | int]] = deque(maxlen=GROUND_TRUTH_KEPT)
        self._wake = asyncio.Event()

    def submit(self, prompt_tokens: int, words: list[str], finish: str) -> _Request:
        if prompt_tokens + len(words) > self.card.kv_capacity_tokens:
            raise ValueError(
                f"{prompt_tokens + len(words)} tokens exceed the KV cache ({self.card.kv_capacity_tokens})"
            )
        loop = asyncio.get_running_loop()
        request = _Request(next(self._numbers), prompt_tokens, words, finish, loop.time())
        self.waiting.append(request)
        self._wake.set()
        return request

    def _admit(self) -> list[_Request]:
        admitted: list[_Request] = []
        while (
            self.waiting
            and len(self.running) + len(admitted) < self.card.max_batch
            and self.kv_used + self.waiting[0].kv_tokens <= self.card.kv_capacity_tokens
        ):
            request = self.waiting.popleft()
            self.kv_used += request.kv_tokens
            admitted.append(request)
        return admitted

    def _emit(self, request: _Request, at: float) -> bool:
        """Give ``request`` its next token at model time ``at``; True when it is finished."""
        request.tokens.put_nowait(request.words[len(request.token_times)])
        request.token_times.append(at)
        if len(request.token_times) < len(request.words):
            return False
        request.tokens.put_nowait(None)
        self.kv_used -= request.kv_tokens
        first, last, count = request.token_times[0], request.token_times[-1], len(request.token_times)
        self.truth.append(
            {
                "request": request.number,
                "input_tokens": request.prompt_tokens,
                "output_tokens": count,
                "ttft_s": first - request.arrival,
                "tpot_s": (last - first) / (count - 1) if count > 1 else 0.0,
            }
        )
        return True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            if not self.running and not self.waiting:
                self._wake.clear()
                await self._wake.wait()
                deadline = loop.time()
            # While the engine stays busy a step starts at the previous step's deadline, so a late
            # wake-up does not push the schedule back (within LAG_CAUGHT_UP_S of real time).
            start = max(deadline, loop.time() - LAG_CAUGHT_UP_S)
            admitted = self._admit()
            if admitted:  # a prompt is not computed before it arrived
                start = max(start, *(request.arrival for request in admitted))
            if admitted:
                step = self.card.prefill_s(sum(request.prompt_tokens for request in admitted))
            else:  # every running request reads its whole context (prompt + tokens so far)
                context = sum(request.prompt_tokens + len(request.token_times) for request in self.running)
                step = self.card.decode_step_s(len(self.running), self.busy_s, context)
            deadline = start + step
            self.busy_s += step
            if self.load is not None:
                self.load.step()
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            if admitted:
                self.running.extend(request for request in admitted if not self._emit(request, deadline))
            else:
                self.running = [request for request in self.running if not self._emit(request, deadline)]


class Endpoint:
    """The HTTP side: parse one request per connection, stream tokens from the engine."""

    def __init__(self, config: dict[str, object]) -> None:
        card = config.get("card", {})
        faults = config.get("faults", {})
        more = config.get("models", {})
        if not isinstance(card, dict) or not isinstance(faults, dict) or not isinstance(more, dict):
            raise ValueError("config: card, faults and models must be objects")
        load, numbers = _card_load(config), itertools.count(1)
        self.engine = Engine(LlmCard(**card), load, numbers)
        self.model = str(config.get("model", "emulated-llm"))
        self.precision = str(config.get("precision", "bf16"))
        # model name → (precision, engine): the first is the config's own model
        self.models: dict[str, tuple[str, Engine]] = {self.model: (self.precision, self.engine)}
        for name, entry in more.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("card", {}), dict):
                raise ValueError(f"config: models.{name} must be {{precision, card}}")
            engine = Engine(LlmCard(**entry.get("card", {})), load, numbers)
            self.models[str(name)] = (str(entry.get("precision", self.precision)), engine)
        cut = faults.get("cut_after_tokens")
        self.cut_after = int(cut) if isinstance(cut, int) else None
        self.wrong_tokens = bool(faults.get("wrong_tokens", False))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, body = await _read_request(reader)
            if method == "GET" and path == "/v1/models":
                listed = [
                    {"id": name, "object": "model", "precision": precision}
                    for name, (precision, _) in self.models.items()
                ]
                await _send_json(writer, 200, {"object": "list", "data": listed})
            elif method == "GET" and path == "/ground_truth":
                truth = [entry for _, engine in self.models.values() for entry in engine.truth]
                await _send_json(writer, 200, {"requests": sorted(truth, key=lambda entry: entry["request"])})
            elif method == "POST" and path == "/v1/completions":
                await self._complete(writer, json.loads(body or b"{}"))
            else:
                await _send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        except (ValueError, KeyError, TypeError) as error:
            await _send_json(writer, 400, {"error": {"message": str(error)}})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _complete(self, writer: asyncio.StreamWriter, body: dict[str, object]) -> None:
        # max_completion_tokens: the newer OpenAI name, which some load tools send
        prompt, max_tokens = body["prompt"], body.get("max_tokens", body.get("max_completion_tokens", 16))
        ignore_eos = body.get("ignore_eos", False)
        served = self.models.get(str(body.get("model")))
        if served is None:
            raise ValueError(
                f"model {body.get('model')!r} is not served here (serving {', '.join(self.models)})"
            )
        if not isinstance(prompt, str) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError("prompt must be a string and max_tokens an integer ≥ 1")
        if not isinstance(ignore_eos, bool):
            raise ValueError(f"ignore_eos must be true or false, got {ignore_eos!r}")
        words, finish = continuation(prompt, max_tokens, ignore_eos)
        if self.wrong_tokens:
            words = [VOCABULARY[-1 - VOCABULARY.index(word)] for word in words]
        request = served[1].submit(input_tokens(prompt), words, finish)
        ident = f"cmpl-{request.number}"
        if not body.get("stream"):
            while await request.tokens.get() is not None:
                pass
            text = "".join(" " + word for word in words)
            choice = {"index": 0, "text": text, "finish_reason": finish}
            usage = {"prompt_tokens": request.prompt_tokens, "completion_tokens": len(words)}
            await _send_json(
                writer, 200, {"id": ident, "object": "text_completion", "choices": [choice], "usage": usage}
            )
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        sent = 0
        while (word := await request.tokens.get()) is not None:
            if self.cut_after is not None and sent >= self.cut_after:
                return  # the stream ends here: no finish reason, no [DONE]
            sent += 1
            last = sent == len(words)
            choice = {"index": 0, "text": " " + word, "finish_reason": finish if last else None}
            writer.write(
                _event({"id": ident, "object": "text_completion", "model": self.model, "choices": [choice]})
            )
            await writer.drain()
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()


def _card_load(config: Mapping[str, object]) -> CardLoad | None:
    node_dir = os.environ.get(NODE_DIR_ENV)
    cards = config.get("load_cards", config.get("cards"))
    if not node_dir or not isinstance(cards, list) or not cards:
        return None
    return CardLoad(node_dir, [int(card) for card in cards])


def _event(data: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length > MAX_BODY:
        raise ValueError(f"body of {length} bytes is over {MAX_BODY}")
    return method, path, await reader.readexactly(length) if length else b""


async def _send_json(writer: asyncio.StreamWriter, status: int, data: Mapping[str, object]) -> None:
    body = json.dumps(data).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def serve(config: dict[str, object], ready_file: str, host: str = "127.0.0.1", port: int = 0) -> None:
    endpoint = Endpoint(config)
    server = await asyncio.start_server(endpoint.handle, host, port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    engines = [asyncio.ensure_future(engine.run()) for _, engine in endpoint.models.values()]
    temporary = ready_file + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(f"{bound}\n")
    os.replace(temporary, ready_file)  # readers never see a half-written port
    async with server:
        await server.serve_forever()
    for engine in engines:
        engine.cancel()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m lab.emulator.llm_server CONFIG.json READY_FILE [PORT]", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        config = json.load(handle)
    asyncio.run(serve(config, argv[1], port=int(argv[2]) if len(argv) == 3 else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
