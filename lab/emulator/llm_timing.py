"""The timing model of an emulated card serving an LLM: what a step of the engine costs.

A serving engine on a card works in steps (continuous batching, as vLLM and the vendors'
stacks do): a *prefill* step computes the prompts of newly admitted requests and yields
each one's first token; a *decode* step yields one more token to every running request.
The model prices both; the engine in :mod:`lab.emulator.llm_server` sleeps them, so the
figures a client measures come from real waiting, and this module is the ground truth they
are compared with.

::

    card = LlmCard(prefill_s_per_token=0.0002, decode_base_s=0.012, decode_s_per_running=0.001)
    card.prefill_s(100)                # 0.02 s for a 100-token prompt
    card.decode_step_s(running=4)      # 0.016 s per token while 4 requests run
    card.alone(input_tokens=100, output_tokens=33)   # (TTFT, TPOT) of one request alone
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LlmCard:
    """Cost of the serving engine's steps on one card (seconds), its KV cache and its throttling.

    ``kv_capacity_tokens`` bounds the tokens (prompt + requested output) of the requests
    running at once; a request that does not fit waits in the queue. ``throttle_after_s``
    (the "decode slowdown when hot" fault) multiplies every decode step by
    ``throttle_factor`` once the engine has been busy that many seconds.
    """

    prefill_s_per_token: float = 0.0002
    decode_base_s: float = 0.012
    decode_s_per_running: float = 0.001
    kv_capacity_tokens: int = 16384
    max_batch: int = 32
    throttle_after_s: float | None = None
    throttle_factor: float = 1.0

    def __post_init__(self) -> None:
        if min(self.prefill_s_per_token, self.decode_base_s, self.decode_s_per_running) < 0:
            raise ValueError("step costs must be ≥ 0")
        if self.kv_capacity_tokens <= 0 or self.max_batch <= 0:
            raise ValueError("kv_capacity_tokens and max_batch must be > 0")
        if self.throttle_factor < 1.0:
            raise ValueError(f"throttle_factor {self.throttle_factor} < 1: throttling never speeds up")

    def prefill_s(self, input_tokens: int) -> float:
        """Seconds of the prefill step for prompts totalling ``input_tokens``."""
        return self.prefill_s_per_token * input_tokens

    def decode_step_s(self, running: int, busy_s: float = 0.0) -> float:
        """Seconds of one decode step with ``running`` requests, after ``busy_s`` seconds of work."""
        step = self.decode_base_s + self.decode_s_per_running * max(running, 1)
        hot = self.throttle_after_s is not None and busy_s >= self.throttle_after_s
        return step * self.throttle_factor if hot else step

    def alone(self, input_tokens: int, output_tokens: int) -> tuple[float, float]:
        """(TTFT, TPOT) in seconds of one request served alone on a cool card."""
        del output_tokens  # TPOT alone does not depend on the length; kept for the call's clarity
        return self.prefill_s(input_tokens), self.decode_step_s(1)
