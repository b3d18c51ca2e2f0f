"""The LLM grid's parts: cells from the profile, the model per precision, ``ignore_eos`` end to end.

The endpoint tests run the emulated card's endpoint as a real HTTP server and read what the
client received over the socket; the timing one compares the engine's scheduled TPOT with the
closed form of the card's model (KV reads priced per context token).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping

import pytest

from lab.agent.llm_accuracy import audit_test06
from lab.agent.llm_client import served_model, stream_completion
from lab.emulator.llm_text import continuation, natural_length
from lab.emulator.llm_timing import LlmCard
from lab.inventory.model import Serving
from lab.llm.grid import (
    GridCell,
    GridError,
    cell_criterion,
    grid_cells,
    grid_prompt,
    model_for,
    short_duration_s,
)

from .conftest import MODEL, EndpointFactory

SETTINGS = {"llm_grid_lengths": "128/128,1024/128,128/1024", "llm_grid_precisions": "bf16,fp8"}
PROMPT = "Explain how a KV cache speeds up decoding"


def test_the_grid_is_every_length_pair_at_every_precision_and_short_runs_scale_it() -> None:
    cells = grid_cells(SETTINGS)
    assert [cell.id for cell in cells] == [
        "128x128-bf16", "1024x128-bf16", "128x1024-bf16", "128x128-fp8", "1024x128-fp8", "128x1024-fp8",
    ]  # fmt: skip
    assert cells[2].run_lengths(False, SETTINGS) == (128, 1024)
    assert cells[2].run_lengths(True, {**SETTINGS, "llm_grid_short_scale": 16}) == (8, 64)
    assert cells[0].run_lengths(True, {"llm_grid_short_scale": 64}) == (4, 4)  # never below 4 tokens
    assert grid_cells({}) == ()
    assert (
        short_duration_s({}, 2.0) == 1.0
        and short_duration_s({"llm_grid_short_duration_seconds": 5}, 2.0) == 2.0
    )
    with pytest.raises(GridError, match="llm_grid_short_duration_seconds 0 is not a number of seconds > 0"):
        short_duration_s({"llm_grid_short_duration_seconds": 0}, 2.0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"llm_grid_lengths": "128-128"}, "is not INPUT/OUTPUT tokens (write e.g. '128/128"),
        ({"llm_grid_lengths": "128/0"}, "is not INPUT/OUTPUT tokens"),
        ({"llm_grid_lengths": "8/8", "llm_grid_precisions": "bf16,fp9"}, "'fp9' is not one of fp32, bf16"),
    ],
)
def test_a_malformed_grid_setting_names_the_setting_and_the_form(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(GridError, match="profile setting llm_grid_") as error:
        grid_cells(settings)
    assert message in str(error.value)


def test_a_cell_is_judged_by_its_own_criterion_where_the_profile_has_one() -> None:
    names = {"llm-grid-tpot-p99", "llm-grid-tpot-p99.128x1024", "llm-grid-ttft-p99.8x8.fp8"}
    assert (
        cell_criterion(names, "llm-grid-tpot-p99", GridCell(128, 1024, "bf16"))
        == "llm-grid-tpot-p99.128x1024"
    )
    assert cell_criterion(names, "llm-grid-tpot-p99", GridCell(128, 128, "bf16")) == "llm-grid-tpot-p99"
    assert cell_criterion(names, "llm-grid-ttft-p99", GridCell(8, 8, "fp8")) == "llm-grid-ttft-p99.8x8.fp8"
    assert cell_criterion(names, "llm-grid-ttft-p99", GridCell(8, 8, "bf16")) == "llm-grid-ttft-p99"


def test_a_grid_prompt_has_exactly_the_words_asked_and_differs_per_request() -> None:
    assert len(grid_prompt(1024, 0).split()) == 1024
    assert len(grid_prompt(1, 5).split()) == 1
    assert grid_prompt(64, 1) != grid_prompt(64, 2)


def _entries(
    listed: Mapping[str, Mapping[str, object]],
) -> tuple[list[str], Callable[[str], Mapping[str, object]]]:
    asked: list[str] = []

    def entry(model: str) -> Mapping[str, object]:
        asked.append(model)
        return listed.get(model, {})

    return asked, entry


def test_the_model_of_a_precision_comes_from_serving_models_and_must_be_what_the_endpoint_reports() -> None:
    serving = Serving("127.0.0.1:8000", "m", models={"bf16": "m", "fp8": "m-fp8"})
    _, entry = _entries({"m": {"id": "m", "precision": "bf16"}, "m-fp8": {"id": "m-fp8", "precision": "fp8"}})
    assert model_for(serving, "fp8", entry).model == "m-fp8"
    skipped = model_for(serving, "int8", entry)
    assert skipped.model is None and skipped.skip is not None
    assert "serves no int8 model: serving.models names bf16, fp8" in skipped.skip
    # the inventory says fp8, the endpoint serves that name at bf16: the figures would be mislabelled
    _, lying = _entries({"m-fp8": {"id": "m-fp8", "precision": "bf16"}})
    wrong = model_for(serving, "fp8", lying)
    assert wrong.model is None and "declared fp8" in str(wrong.problem) and "'bf16'" in str(wrong.problem)
    _, missing = _entries({})
    assert "lists no model 'm-fp8'" in str(model_for(serving, "fp8", missing).problem)
    # vLLM reports no precision: the declared one stands, and the record says so
    _, silent = _entries({"m-fp8": {"id": "m-fp8"}})
    assert "declared (the endpoint reports none)" in model_for(serving, "fp8", silent).said


def test_without_serving_models_the_model_serves_only_the_precision_its_endpoint_reports() -> None:
    serving = Serving("127.0.0.1:8000", "m")
    _, entry = _entries({"m": {"id": "m", "precision": "int8"}})
    assert model_for(serving, "int8", entry).model == "m"
    skipped = model_for(serving, "bf16", entry)
    assert (
        skipped.skip
        == "the node serves no bf16 model: no serving.models, and its model 'm' reports precision 'int8'"
    )


def test_ignore_eos_decodes_past_the_end_of_sequence_to_max_tokens(llm_endpoint: EndpointFactory) -> None:
    """Fails on an endpoint that ends every response at EOS (main before ignore_eos)."""
    endpoint = llm_endpoint(card={"prefill_s_per_token": 0.0001, "decode_base_s": 0.001})
    natural = natural_length(PROMPT)
    asked = natural + 20
    plain = stream_completion(endpoint.address, MODEL, PROMPT, asked)
    assert len(plain.tokens) == natural and plain.finish_reason == "stop"
    long = stream_completion(endpoint.address, MODEL, PROMPT, asked, ignore_eos=True)
    assert len(long.tokens) == asked and long.finish_reason == "length" and long.complete
    assert long.tokens[:natural] == plain.tokens  # the same greedy tokens up to the EOS
    assert audit_test06(long.tokens, long.tokens[0], long.finish_reason, asked, ignore_eos=True) == []
    # an engine that ignores the field is caught by TEST06's length rule
    assert (
        "were asked and not delivered"
        in audit_test06(plain.tokens, plain.tokens[0], plain.finish_reason, asked, ignore_eos=True)[0]
    )


def test_the_endpoint_refuses_a_malformed_ignore_eos(llm_endpoint: EndpointFactory) -> None:
    endpoint = llm_endpoint()
    host, port = endpoint.address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    body = {"model": MODEL, "prompt": PROMPT, "max_tokens": 4, "ignore_eos": "yes"}
    connection.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 400 and b"ignore_eos must be true or false" in response.read()
    connection.close()


@pytest.mark.usefixtures("quiet_cpu")  # scheduled steps of ~10-20 ms: a starved engine would drift them
def test_long_outputs_decode_slower_as_the_kv_cache_grows(llm_endpoint: EndpointFactory) -> None:
    card = {"prefill_s_per_token": 0.0001, "decode_base_s": 0.01, "decode_s_per_context_token": 0.0002}
    endpoint = llm_endpoint(card=card)
    short = stream_completion(endpoint.address, MODEL, PROMPT, 8, ignore_eos=True)
    long = stream_completion(endpoint.address, MODEL, PROMPT, 64, ignore_eos=True)
    truth = {f"cmpl-{entry['request']}": entry for entry in endpoint.ground_truth()}
    model = LlmCard(**card)  # type: ignore[arg-type]
    words = len(PROMPT.split())
    for done, count in ((short, 8), (long, 64)):
        scheduled = truth[str(done.ident)]
        assert scheduled["output_tokens"] == count
        assert scheduled["tpot_s"] == pytest.approx(model.alone(words, count)[1], rel=0.02)
    assert truth[str(long.ident)]["tpot_s"] > truth[str(short.ident)]["tpot_s"] * 1.3  # 13.7 → 19.3 ms


@pytest.mark.usefixtures("quiet_cpu")
def test_an_endpoint_serves_one_model_per_precision_each_with_its_own_timing(
    llm_endpoint: EndpointFactory,
) -> None:
    slow = {"prefill_s_per_token": 0.0001, "decode_base_s": 0.02}
    fast = {"prefill_s_per_token": 0.0001, "decode_base_s": 0.01}
    endpoint = llm_endpoint(card=slow, models={f"{MODEL}-fp8": {"precision": "fp8", "card": fast}})
    assert served_model(endpoint.address, f"{MODEL}-fp8")["precision"] == "fp8"
    assert served_model(endpoint.address, MODEL)["precision"] == "bf16"
    bf16 = stream_completion(endpoint.address, MODEL, PROMPT, 24, ignore_eos=True)
    fp8 = stream_completion(endpoint.address, f"{MODEL}-fp8", PROMPT, 24, ignore_eos=True)
    truth = {f"cmpl-{entry['request']}": entry for entry in endpoint.ground_truth()}
    assert (
        bf16.ident != fp8.ident and truth[str(fp8.ident)]["tpot_s"] < truth[str(bf16.ident)]["tpot_s"] * 0.6
    )


def test_continuation_with_ignore_eos_keeps_the_greedy_prefix() -> None:
    natural = natural_length(PROMPT)
    words, finish = continuation(PROMPT, natural + 5, ignore_eos=True)
    assert finish == "length" and len(words) == natural + 5
    assert words[:natural] == continuation(PROMPT, natural + 5)[0]
