"""The real LoadGen (mlperf_loadgen) over a vendor backend whose SDK is a test double.

A model compiled for batch 2 under a profile batch of 8: LoadGen's Offline query is run two
samples per call, and LoadGen hears of exactly the samples that ran — not 8 per call.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType

import numpy

from lab.agent.backends import create
from lab.agent.loadgen_run import run_test
from lab.agent.protocol import Request


def test_loadgen_offline_is_credited_with_samples_run_not_profile_batches(
    tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    inputs, rows = dataset
    model = tmp_path / "resnet-b2.enf"
    model.write_text(json.dumps({"input_shape": [2, 16], "dtype": "float32", "classes": 3}))
    sdk_doubles["furiosa"].DELAY_S = 0.001  # ≤ 2,000 samples/s: the run outlasts its min duration
    card = create("furiosa", 0, {"model_path": str(model), "inputs_path": str(inputs), "batch": 8})
    card.open(sample_count=8)
    request = Request(
        {
            "scenario": "Offline",
            "backend": {"name": "furiosa", "options": {}},
            "output_dir": str(tmp_path / "out"),
            "min_duration_s": 0.2,
            "min_query_count": 1,
            "sample_count": 8,
            "expected_qps": 4000.0,  # given, so no probe calls mix with the run's
        }
    )
    result = run_test(request, [card])
    card.close()
    summary = result["summary"]
    assert isinstance(summary, dict) and summary["result"] == "VALID"
    issued = int(summary["samples_per_query"])
    assert result["samples_per_device"] == [issued]  # completions LoadGen was told of
    calls = sdk_doubles["furiosa"].CALLS
    assert len(calls) == math.ceil(issued / 2)  # two samples per call, not eight
    for call in calls:  # every row fed is one of the data set's
        for row in call["input"]:
            assert any(numpy.array_equal(row, sample) for sample in rows)
    assert result["backends"] == [card.info()]
    assert card.info()["batch_clamped"] is True
