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
    card.decode_step_s(running=4, context_tokens=4096)   # + their KV-cache reads, where priced
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
    ``decode_s_per_context_token`` prices the KV-cache reads of a decode step: every running
    request reads the keys and values of its whole context (prompt + tokens so far), so long
    outputs and long prompts decode slower (0: not priced, the step ignores context).
    """

    prefill_s_per_token: float = 0.0002
    decode_base_s: float = 0.012
    decode_s_per_running: float = 0.001
    kv_capacity_tokens: int = 16384
    max_batch: int = 32
    throttle_after_s: float | None = None
    throttle_factor: float = 1.0
    decode_s_per_context_token: float = 0.0

    def __post_init__(self) -> None:
        costs = (self.prefill_s_per_token, self.decode_base_s, self.decode_s_per_running)
        if min(*costs, self.decode_s_per_context_token) < 0:
            raise ValueError("step costs must be ≥ 0")
        if self.kv_capacity_tokens <= 0 or self.max_batch <= 0:
            raise ValueError("kv_capacity_tokens and max_batch must be > 0")
        if self.throttle_factor < 1.0:
            raise ValueError(f"throttle_factor {self.throttle_factor} < 1: throttling never speeds up")

    def prefill_s(self, input_tokens: int) -> float:
        """Seconds of the prefill step for prompts totalling ``input_tokens``."""
        return self.prefill_s_per_token * input_tokens

    def decode_step_s(self, running: int, busy_s: float = 0.0, context_tokens: float = 0) -> float:
        """Seconds of one decode step with ``running`` requests holding ``context_tokens`` in the KV
        cache together, after ``busy_s`` seconds of work."""
        step = (
            self.decode_base_s
            + self.decode_s_per_running * max(running, 1)
            + self.decode_s_per_context_token * max(context_tokens, 0)
        )
        hot = self.throttle_after_s is not None and busy_s >= self.throttle_after_s
        return step * self.throttle_factor if hot else step

    def alone(self, input_tokens: int, output_tokens: int) -> tuple[float, float]:
        """(TTFT, TPOT) in seconds of one request served alone on a cool card.

        The n-th decode step (n = 1 … output_tokens - 1) reads a context of input + n tokens.
        """
        steps = max(output_tokens - 1, 0)
        if steps == 0:
            return self.prefill_s(input_tokens), self.decode_step_s(1)
        mean_context = input_tokens + (1 + steps) / 2
        return self.prefill_s(input_tokens), self.decode_step_s(1, context_tokens=mean_context)
