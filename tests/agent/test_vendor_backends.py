"""Vendor backends' glue, run against test doubles of each SDK (``doubles/``).

What a card would be credited with: a model compiled for batch 1 handed eight samples runs
eight calls and LoadGen/the worker pool hears of eight completions; compiled for batch 4, two
calls. The double records what it was fed: the data set's rows, never zeros.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy
import pytest

from lab.agent.backends import BackendError, DeviceBusyError, DeviceUnavailableError, create
from lab.agent.backends.compiled import AGAINST_DOUBLE
from lab.agent.workers import WorkerPool

W_SEED = 1
CLASSES = 3


def _weights(features: int) -> numpy.ndarray:
    return numpy.random.default_rng(W_SEED).standard_normal((features, CLASSES)).astype(numpy.float32)


def _model(tmp_path: Path, backend: str, batch: int, dtype: str = "float32", features: int = 16) -> str:
    """A compiled model for ``backend`` whose first input is [batch, features]."""
    if backend == "onnxruntime-cuda":
        return _onnx_model(tmp_path, batch, features)
    path = tmp_path / f"model-b{batch}.{'enf' if backend == 'furiosa' else 'rbln'}"
    path.write_text(json.dumps({"input_shape": [batch, features], "dtype": dtype, "classes": CLASSES}))
    return str(path)


def _onnx_model(tmp_path: Path, batch: int | str, features: int) -> str:
    """y = x @ W, with the doubles' W, as an ONNX file with a fixed (or symbolic) batch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["output"])],
        "matmul",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, features])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, CLASSES])],
        [numpy_helper.from_array(_weights(features), "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / f"model-b{batch}.onnx"
    onnx.save(model, str(path))
    return str(path)


def _fed(doubles: dict[str, ModuleType], backend: str) -> list[numpy.ndarray]:
    """What the SDK double was given, call by call."""
    calls: list[dict[str, Any]] = doubles[backend].CALLS
    if backend == "onnxruntime-cuda":
        return [call["feed"]["input"] for call in calls if "feed" in call]
    return [call["input"] for call in calls]


VENDORS = ["furiosa", "rebel", "onnxruntime-cuda"]


@pytest.mark.parametrize("backend", VENDORS)
@pytest.mark.parametrize(("compiled", "calls"), [(1, 8), (4, 2)])
def test_compiled_batch_decides_calls_and_completions(
    backend: str,
    compiled: int,
    calls: int,
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
) -> None:
    inputs, rows = dataset
    options: dict[str, object] = {
        "model_path": _model(tmp_path, backend, compiled),
        "inputs_path": str(inputs),
        "batch": 8,  # the profile's Offline batch: larger than the model's, so clamped
    }
    card = create(backend, 0, options)
    card.open(sample_count=8)
    assert card.batch == compiled
    completed: list[int] = []
    pool = WorkerPool([card], complete=lambda rs: completed.extend(rs), response=lambda q, _p, _s: q)  # type: ignore[arg-type]
    pool.run_inline([(100 + n, n) for n in range(8)])
    assert completed == [100 + n for n in range(8)]
    assert pool.samples_done == [8] and pool.failure is None
    fed = _fed(sdk_doubles, backend)
    assert len(fed) == calls
    assert numpy.array_equal(numpy.concatenate(fed), rows)  # the data set's rows, in order
    info = card.info()
    assert info["compiled_batch"] == compiled and info["profile_batch"] == 8
    assert info["batch_clamped"] is True and info["calls"] == calls
    assert info["exercised"] == AGAINST_DOUBLE
    card.close()


@pytest.mark.parametrize("backend", VENDORS)
def test_one_call_runs_what_the_model_takes_and_pads_a_short_batch(
    backend: str, tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    inputs, rows = dataset
    card = create(backend, 0, {"model_path": _model(tmp_path, backend, 4), "inputs_path": str(inputs)})
    card.open(sample_count=8)
    assert card.infer([0, 1, 2, 3, 4, 5]).count == 4  # handed six, the model runs four
    ran = card.infer([6, 2, 7], keep_outputs=True)  # handed three: padded, three count
    assert ran.count == 3
    last = _fed(sdk_doubles, backend)[-1]
    assert numpy.array_equal(last, rows[[6, 2, 7, 7]])
    expected = rows[[6, 2, 7]] @ _weights(16)
    assert ran.outputs is not None and len(ran.outputs) == 3
    got = numpy.stack([numpy.frombuffer(item, dtype=numpy.float32) for item in ran.outputs])
    numpy.testing.assert_allclose(got, expected, rtol=1e-5)
    # the smoke check's path: any number of inputs, the model's batch at a time
    smoke = rows[:5] * 2
    numpy.testing.assert_allclose(card.outputs(smoke), smoke @ _weights(16), rtol=1e-5)
    card.close()


@pytest.mark.parametrize("backend", VENDORS)
def test_no_inputs_file_is_refused_never_zeros(
    backend: str, tmp_path: Path, sdk_doubles: dict[str, ModuleType]
) -> None:
    card = create(backend, 0, {"model_path": _model(tmp_path, backend, 4)})
    with pytest.raises(BackendError, match=r"needs options\.inputs_path.*never runs on invented inputs"):
        card.open(sample_count=8)
    assert _fed(sdk_doubles, backend) == []


@pytest.mark.parametrize("backend", ["furiosa", "rebel"])
@pytest.mark.parametrize(
    ("features", "dtype", "count", "message"),
    [
        (12, "float32", 8, r"a sample is \(16,\), the model .* takes \(12,\)"),
        (16, "int8", 8, "samples are float32, the model takes int8"),
    ],
)
def test_inputs_that_do_not_fit_the_model_are_refused(
    backend: str,
    features: int,
    dtype: str,
    count: int,
    message: str,
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
) -> None:
    model = _model(tmp_path, backend, 4, dtype=dtype, features=features)
    card = create(backend, 0, {"model_path": model, "inputs_path": str(dataset[0])})
    with pytest.raises(BackendError, match=message):
        card.open(sample_count=count)
    if backend == "furiosa":  # the card was given back before the refusal
        assert [runner.closed for runner in sdk_doubles["furiosa"].RUNNERS] == [True]


@pytest.mark.parametrize("backend", VENDORS)
def test_a_run_larger_than_the_data_set_reuses_rows_but_never_misattributes_outputs(
    backend: str, tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    inputs, rows = dataset
    card = create(backend, 0, {"model_path": _model(tmp_path, backend, 2), "inputs_path": str(inputs)})
    card.open(sample_count=1024)  # the default QSL size, over an 8-row data set
    assert card.infer([9, 10]).count == 2
    assert numpy.array_equal(_fed(sdk_doubles, backend)[-1], rows[[1, 2]])
    assert card.infer([6, 7], keep_outputs=True).count == 2
    with pytest.raises(BackendError, match="sample 9 is beyond the data set's 8 rows"):
        card.infer([6, 9], keep_outputs=True)
    assert card.info()["inputs_rows"] == 8


@pytest.mark.parametrize("backend", ["furiosa", "rebel"])
def test_a_node_without_the_sdk_gets_a_clear_error(
    backend: str, tmp_path: Path, dataset: tuple[Path, numpy.ndarray]
) -> None:
    card = create(backend, 0, {"model_path": _model(tmp_path, backend, 4), "inputs_path": str(dataset[0])})
    with pytest.raises(BackendError, match="not installed on this node"):
        card.open(sample_count=8)


def test_furiosa_device_specification_per_generation(
    tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    base = {"model_path": _model(tmp_path, "furiosa", 2), "inputs_path": str(dataset[0])}
    for options, spec in (
        ({"arch": "warboy"}, "npu:1:0-1"),
        ({"arch": "rngd"}, "npu:1"),
        ({"device_spec": "npu:{device}:0"}, "npu:1:0"),
    ):
        card = create("furiosa", 1, {**base, **options})
        card.open(sample_count=8)
        card.infer([0])
        assert sdk_doubles["furiosa"].CALLS[-1]["device"] == spec
        assert card.info()["device_spec"] == spec
        card.close()
    with pytest.raises(BackendError, match="unknown arch 'gpu'"):
        create("furiosa", 0, {**base, "arch": "gpu"})


@pytest.mark.parametrize(
    ("backend", "device", "state", "key", "error", "message"),
    [
        ("furiosa", 0, "BUSY", "npu:0", DeviceBusyError, "npu:0"),  # held by another process
        ("rebel", 2, "MISSING", 2, DeviceUnavailableError, "RBLN device 2"),  # counts against the card
    ],
)
def test_a_card_the_sdk_cannot_hand_out_is_busy_or_unavailable(
    backend: str,
    device: int,
    state: str,
    key: object,
    error: type[BackendError],
    message: str,
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
) -> None:
    cards: set[object] = getattr(sdk_doubles[backend], state)
    cards.add(key)
    try:
        options = {"model_path": _model(tmp_path, backend, 2), "inputs_path": str(dataset[0])}
        card = create(backend, device, options)
        with pytest.raises(error, match=message):
            card.open(sample_count=8)
    finally:
        cards.clear()


def test_cuda_backend_refuses_a_cpu_fallback(
    tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    sdk_doubles["onnxruntime-cuda"].CUDA_AVAILABLE = False
    card = create(
        "onnxruntime-cuda",
        3,
        {"model_path": _model(tmp_path, "onnxruntime-cuda", 4), "inputs_path": str(dataset[0])},
    )
    with pytest.raises(BackendError, match="did not enable CUDAExecutionProvider for GPU 3"):
        card.open(sample_count=8)
    options = sdk_doubles["onnxruntime-cuda"].CALLS[0]["providers"]["CUDAExecutionProvider"]
    assert options == {"device_id": 3, "use_tf32": 0}  # real FP32, on the card asked for


def test_cuda_backend_takes_the_profile_batch_when_the_model_batch_is_symbolic(
    tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    model = _onnx_model(tmp_path, "batch", 16)
    card = create("onnxruntime-cuda", 0, {"model_path": model, "inputs_path": str(dataset[0]), "batch": 4})
    card.open(sample_count=8)
    assert card.batch == 4 and card.info()["dynamic_batch"] is True
    assert card.infer([0, 1, 2, 3, 4, 5]).count == 4


def test_sapeon_says_no_public_runtime_exists() -> None:
    with pytest.raises(BackendError, match="no public runtime exists for Sapeon"):
        create("sapeon", 0, {})


def test_a_backend_used_before_open_says_so(tmp_path: Path, sdk_doubles: dict[str, ModuleType]) -> None:
    card = create("furiosa", 0, {"model_path": _model(tmp_path, "furiosa", 2)})
    with pytest.raises(BackendError, match="was not opened"):
        card.infer([0])
    with pytest.raises(BackendError, match="was not opened"):
        card.outputs(numpy.ones((2, 16), dtype=numpy.float32))


def test_shared_glue_refuses_what_it_cannot_use(
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = str(dataset[0])
    no_batch = _model(tmp_path, "furiosa", 0)  # a model whose batch dimension is not fixed
    card = create("furiosa", 0, {"model_path": no_batch, "inputs_path": inputs})
    with pytest.raises(BackendError, match=r"input shape \(0, 16\) has no fixed batch"):
        card.open(sample_count=8)
    model = _model(tmp_path, "furiosa", 2)
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not numpy")
    flat = tmp_path / "flat.npy"
    numpy.save(flat, numpy.arange(8, dtype=numpy.float32))
    for path, message in ((garbage, "cannot read the inputs"), (flat, r"expected an array \[N, \.\.\.\]")):
        with pytest.raises(BackendError, match=message):
            create("furiosa", 0, {"model_path": model, "inputs_path": str(path)}).open(sample_count=8)
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(BackendError, match="needs numpy"):
        create("furiosa", 0, {"model_path": model, "inputs_path": inputs}).open(sample_count=8)


def test_furiosa_open_errors_are_sorted_by_whose_fault(
    tmp_path: Path, sdk_doubles: dict[str, ModuleType], dataset: tuple[Path, numpy.ndarray]
) -> None:
    inputs = str(dataset[0])
    sdk_doubles["furiosa"].MISSING.add("npu:0")
    card = create("furiosa", 0, {"model_path": _model(tmp_path, "furiosa", 2), "inputs_path": inputs})
    with pytest.raises(DeviceUnavailableError, match="npu:0 not found"):
        card.open(sample_count=8)
    missing_model = create("furiosa", 1, {"model_path": str(tmp_path / "none.enf"), "inputs_path": inputs})
    with pytest.raises(BackendError, match="cannot open npu:1: FileNotFoundError") as raised:
        missing_model.open(sample_count=8)
    assert not isinstance(raised.value, DeviceUnavailableError)  # the node's fault, not the card's
    with pytest.raises(BackendError, match="device_spec must be a non-empty string"):
        create("furiosa", 0, {"model_path": "m.enf", "device_spec": 3})


def test_rebel_compiled_input_is_read_or_refused(
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebel = sdk_doubles["rebel"]
    inputs = str(dataset[0])
    model = _model(tmp_path, "rebel", 4)
    with pytest.raises(BackendError, match=r"cannot load .*none\.rbln: FileNotFoundError"):
        create("rebel", 0, {"model_path": str(tmp_path / "none.rbln"), "inputs_path": inputs}).open(8)
    # one input_info list per compiled graph: the first graph's first input
    nested = [[("input", [4, 16], "float32")], [("input", [1, 16], "float32")]]
    monkeypatch.setattr(rebel.RBLNCompiledModel, "get_input_info", lambda self: nested)
    card = create("rebel", 0, {"model_path": model, "inputs_path": inputs})
    card.open(sample_count=8)
    assert card.info()["compiled_batch"] == 4
    monkeypatch.setattr(rebel.RBLNCompiledModel, "get_input_info", lambda self: [("input",)])
    with pytest.raises(BackendError, match="unreadable input_info"):
        create("rebel", 0, {"model_path": model, "inputs_path": inputs}).open(sample_count=8)
    monkeypatch.delattr(rebel.RBLNCompiledModel, "get_input_info")
    with pytest.raises(BackendError, match="does not expose the compiled input shape"):
        create("rebel", 0, {"model_path": model, "inputs_path": inputs}).open(sample_count=8)


def test_cuda_backend_refusals(
    tmp_path: Path,
    sdk_doubles: dict[str, ModuleType],
    dataset: tuple[Path, numpy.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from onnx import TensorProto, helper

    inputs = str(dataset[0])

    def model(name: str, kind: int, shape: list[int | str]) -> str:
        graph = helper.make_graph(
            [helper.make_node("Identity", ["input"], ["output"])],
            name,
            [helper.make_tensor_value_info("input", kind, shape)],
            [helper.make_tensor_value_info("output", kind, shape)],
        )
        made = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        made.ir_version = 8
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(made.SerializeToString())
        return str(path)

    for path, message in (
        (model("bools", TensorProto.BOOL, [4, 16]), r"unsupported input type tensor\(bool\)"),
        (model("ragged", TensorProto.FLOAT, [4, "features"]), "per-sample shape .* must be fixed"),
        (str(tmp_path / "none.onnx"), "cannot load"),
    ):
        with pytest.raises(BackendError, match=message):
            create("onnxruntime-cuda", 0, {"model_path": path, "inputs_path": inputs}).open(8)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendError, match="onnxruntime-gpu is not installed"):
        create("onnxruntime-cuda", 0, {"model_path": "m.onnx", "inputs_path": inputs}).open(8)
