"""The agent's LLM requests: a bad request or an unreachable endpoint is an error with a reason."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from lab.agent.protocol import EXIT_BAD_REQUEST, EXIT_ERROR

REPOSITORY = Path(__file__).resolve().parents[2]


def _agent(tmp_path: Path, request: dict[str, object]) -> tuple[int, dict[str, object]]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"kind": "llm", "output_dir": str(tmp_path / "out"), **request}))
    done = subprocess.run(
        [sys.executable, "-m", "lab.agent", str(path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_request_without_prompts_is_a_bad_request(tmp_path: Path) -> None:
    code, result = _agent(tmp_path, {"address": "127.0.0.1:1", "model": "m", "prompts": []})
    assert code == EXIT_BAD_REQUEST
    assert result["status"] == "error" and "prompts must be a non-empty list" in str(result["error"])


def test_an_unreachable_endpoint_is_an_error_naming_it(tmp_path: Path) -> None:
    address = f"127.0.0.1:{_free_port()}"
    request = {
        "address": address,
        "model": "m",
        "prompts": ["a b"],
        "min_duration_s": 0.05,
        "min_query_count": 1,
    }
    code, result = _agent(tmp_path, request)
    assert code == EXIT_ERROR
    assert result["status"] == "error" and address in str(result["error"])
    assert "Traceback" not in json.dumps(result)


def test_a_deadline_that_is_not_a_positive_number_is_a_bad_request(tmp_path: Path) -> None:
    code, result = _agent(
        tmp_path, {"address": "127.0.0.1:1", "model": "m", "prompts": ["a"], "deadline_s": "1h"}
    )
    assert code == EXIT_BAD_REQUEST and "deadline_s '1h'" in str(result["error"])
