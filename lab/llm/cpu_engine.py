"""A real LLM serving engine on the CPU: llama.cpp's OpenAI-compatible server, from xllamacpp.

Run it on a node (a CPU reference node's ``serving.launch``, or by hand)::

    python -m lab.llm.cpu_engine --model /srv/tiny-llama.gguf --alias tiny-llama --port 8000

It serves ``/v1/models``, ``/v1/completions`` and ``/v1/chat/completions`` (streamed, with
``usage``) until SIGTERM or SIGINT, and prints ``listening http://HOST:PORT`` once ready. From
the controller (tests, benchmarks) start one and stop it by pid::

    with cpu_engine(model_path, alias="tiny-llama") as address:   # "127.0.0.1:PORT"
        stream_completion(address, "tiny-llama", "the card serves", 16)

Why xllamacpp: it is llama.cpp's own server (the C++ ``llama-server`` compiled into a Python
extension), shipped on PyPI as a prebuilt manylinux2014 CPU wheel that imports on Debian 12's
glibc 2.36. The alternatives tried do not install here: llama-cpp-python is an sdist that
builds llama.cpp from source (~19 min on two cores), llama-cpp-py-sync's wheel needs glibc
2.38, and llama-cpp-cffi downloads a model when imported.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class EngineError(RuntimeError):
    """The engine did not start; the message ends with the tail of its log."""


def serve(
    model: Path,
    alias: str,
    host: str,
    port: int,
    parallel: int,
    threads: int,
    context: int,
    *,
    prompt_cache: bool = True,
    kv: str = "f32",
) -> None:
    """Serve ``model`` in this process until SIGTERM/SIGINT (blocks)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {alias}
    params.hostnames = [host]
    params.port = port
    params.n_parallel = parallel  # slots: requests decoded together (continuous batching)
    params.n_ctx = context * parallel  # llama.cpp splits the context among the slots
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # a benchmark turns the prompt cache off: a prompt sent again would skip its prefill (TTFT)
    params.cache_prompt = prompt_cache
    # llama.cpp keeps K and V in f16 and, on the CPU, its flash attention rounds Q to f16: both
    # off, its greedy tokens are those of the float64 reference (lab.llm.tiny_reference); with
    # them on, probabilities differ by ~1e-3 relative and a 2e-4 logit gap flips a token of the set
    kv_type = xllamacpp.ggml_type.GGML_TYPE_F32 if kv == "f32" else xllamacpp.ggml_type.GGML_TYPE_F16
    params.cache_type_k, params.cache_type_v = kv_type, kv_type
    params.flash_attn_type = xllamacpp.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xllamacpp.Server(params)  # listens until the object is dropped
    print(f"listening {server.listening_address}", flush=True)
    while not stop.wait(1.0):  # bounded by the signal; wakes each second to notice it
        pass
    del server


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the engine binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(address: str, deadline_s: float, alive: subprocess.Popen[bytes] | None = None) -> bool:
    """True once ``http://ADDRESS/v1/models`` answers within ``deadline_s``; False if the
    process ``alive`` exits first or the time runs out."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{address}/v1/models", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            if alive is not None and alive.poll() is not None:
                return False
            time.sleep(0.2)
    return False


@contextmanager
def cpu_engine(
    model: Path,
    *,
    alias: str,
    parallel: int = 4,
    threads: int = 1,
    context: int = 2048,
    log: Path | None = None,
    prompt_cache: bool = True,
) -> Iterator[str]:
    """Start the engine on 127.0.0.1 in a child process; yield its ``host:port``; stop it by pid.

    ``prompt_cache=False`` makes every request pay its whole prefill (benchmarks: a repeated
    prompt is otherwise served from cache).
    """
    port = free_port()
    command = [
        sys.executable, "-m", "lab.llm.cpu_engine", "--model", str(model), "--alias", alias,
        "--host", "127.0.0.1", "--port", str(port), "--parallel", str(parallel),
        "--threads", str(threads), "--context", str(context),
        *([] if prompt_cache else ["--no-prompt-cache"]),
    ]  # fmt: skip
    log = log or model.with_suffix(".engine.log")
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            if not wait_ready(f"127.0.0.1:{port}", START_TIMEOUT_S, process):
                tail = log.read_text(errors="replace")[-3000:]
                raise EngineError(f"the CPU engine did not answer on 127.0.0.1:{port}:\n{tail}")
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.llm.cpu_engine", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="GGUF model file")
    parser.add_argument("--alias", required=True, help="the model name clients ask for")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=4, help="requests decoded together")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for prefill and decode")
    parser.add_argument("--context", type=int, default=2048, help="context tokens per request (slot)")
    parser.add_argument("--no-prompt-cache", action="store_true", help="every request pays its prefill")
    parser.add_argument("--kv-cache", choices=("f32", "f16"), default="f32", help="K/V cache precision")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"cpu_engine: no model file at {args.model} (write one: lab.llm.tiny_model.write_tiny_llama)")
        return 2
    try:
        serve(
            args.model, args.alias, args.host, args.port, args.parallel, args.threads, args.context,
            prompt_cache=not args.no_prompt_cache, kv=args.kv_cache,
        )  # fmt: skip
    except ImportError:
        print("cpu_engine: xllamacpp is not installed (pip install -e '.[cpu-reference]')", file=sys.stderr)
        return 2
    except RuntimeError as error:  # xllamacpp: "Failed to init server" (its log says why)
        print(f"cpu_engine: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
