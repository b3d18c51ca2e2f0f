"""The agent's entry point: read the request, run, print ONE JSON object, exit within the deadline.

Standard output carries only the result: file descriptor 1 is pointed at stderr while the
test runs (LoadGen, runtimes and tools may print), and the result goes to the saved
original. A watchdog ends the process with an error result when ``deadline_s`` passes, so a
hung backend never holds the controller longer than the deadline it asked for.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback

from .backends import Backend, BackendError, DeviceBusyError, create
from .protocol import EXIT_BAD_REQUEST, EXIT_BUSY, EXIT_ERROR, EXIT_OK, Request, RequestError


def _emit(stream: int, result: dict[str, object]) -> None:
    os.write(stream, (json.dumps(result, sort_keys=True) + "\n").encode())


def _watchdog(stream: int, deadline: float) -> None:
    def expire() -> None:
        _emit(stream, {"status": "error", "error": f"the agent's deadline of {deadline:g} s expired"})
        os._exit(EXIT_ERROR)

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()


# Python hands the GIL between threads every 5 ms by default: a worker whose sleep ended
# could wait that long behind the telemetry or issuing thread, which is a large error on a
# 2 ms latency. 200 µs keeps hand-offs well below the figures being measured.
GIL_SWITCH_INTERVAL_S = 0.0002


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (the controller stopping a soak or hold): unwind so the card is released cleanly
    raise SystemExit(128 + signum)


def run(argv: list[str]) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    signal.signal(signal.SIGTERM, _terminate)
    result_stream = os.dup(1)
    os.dup2(2, 1)
    if len(argv) != 1:
        _emit(result_stream, {"status": "error", "error": "usage: kcloud-agent REQUEST.json"})
        return EXIT_BAD_REQUEST
    if _is_llm(argv[0]):  # the LLM suite's requests (lab/agent/llm_main.py)
        return _run_llm(argv[0], result_stream)
    try:
        request = Request.from_file(argv[0])
    except RequestError as error:
        _emit(result_stream, {"status": "error", "error": f"bad request: {error}"})
        return EXIT_BAD_REQUEST
    _watchdog(result_stream, request.deadline_s)
    try:  # the pid lets an operator (or a test) stop this run without matching process names
        os.makedirs(request.output_dir, exist_ok=True)
        with open(os.path.join(request.output_dir, "agent.pid"), "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
    except OSError as error:
        _emit(result_stream, {"status": "error", "error": f"cannot write to {request.output_dir}: {error}"})
        return EXIT_ERROR
    backends: list[Backend] = []
    try:
        for device in request.devices:
            backend = create(request.backend_name, device, request.backend_options)
            backends.append(backend)
            backend.open(request.sample_count)
        if request.workload:
            from .workloads import run_workload

            result = run_workload(request, backends, lambda line: _emit(result_stream, line))
        else:
            from .loadgen_run import run_test

            result = run_test(request, backends)
    except DeviceBusyError as error:
        _emit(result_stream, {"status": "busy", "kind": error.kind, "error": str(error)})
        return EXIT_BUSY
    except BackendError as error:
        _emit(result_stream, {"status": "error", "kind": error.kind, "error": str(error)})
        return EXIT_ERROR
    except (RuntimeError, OSError) as error:
        _emit(result_stream, {"status": "error", "error": str(error)})
        return EXIT_ERROR
    except Exception as error:  # a bug or an unexpected runtime error: keep the traceback for the record
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)
        _emit(
            result_stream,
            {"status": "error", "error": f"{type(error).__name__}: {error}", "traceback": trace},
        )
        return EXIT_ERROR
    finally:
        for backend in backends:
            try:
                backend.close()
            except Exception as error:  # closing must not hide the run's own result
                print(f"closing npu{backend.device}: {error}", file=sys.stderr)
    _emit(result_stream, result)
    return EXIT_OK


def _is_llm(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return False  # Request.from_file reports it
    return isinstance(data, dict) and data.get("kind") == "llm"


def _run_llm(path: str, result_stream: int) -> int:
    from .llm_main import LlmRequestError, run_llm_request

    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    deadline = data.get("deadline_s", 600.0)
    if not isinstance(deadline, int | float) or isinstance(deadline, bool) or deadline <= 0:
        _emit(result_stream, {"status": "error", "error": f"bad request: deadline_s {deadline!r} is not > 0"})
        return EXIT_BAD_REQUEST
    _watchdog(result_stream, float(deadline))
    try:
        result = run_llm_request(data)
    except LlmRequestError as error:
        _emit(result_stream, {"status": "error", "error": f"bad request: {error}"})
        return EXIT_BAD_REQUEST
    except (RuntimeError, OSError) as error:
        _emit(result_stream, {"status": "error", "error": str(error)})
        return EXIT_ERROR
    _emit(result_stream, result)
    return EXIT_OK if result.get("status") == "ok" else EXIT_ERROR
