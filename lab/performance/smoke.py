"""Golden outputs from a real reference: the smoke model run on the controller by onnxruntime FP32.

The runtime smoke check sends fixed inputs to the card (through the node agent), and compares
the card's outputs with the same model (``lab.performance.reference_model``) run here in FP32
on the same inputs, with the tolerance of the card's precision from the profile::

    inputs = smoke_inputs()                                   # 32 samples of the task's data set
    golden = reference_outputs(inputs)                        # onnxruntime, FP32, on this machine
    found = compare(card_outputs, golden, tolerance_for(profile, "int8"))
    found.ok, found.top1_agreement, found.max_error, found.describe()

``max_error`` is the largest absolute difference divided by the largest absolute reference
output (scale-free); ``top1_agreement`` the share of inputs whose arg-max class agrees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.errors import InfrastructureError
from lab.performance.settings import PerfSettings
from lab.performance.tasks import load_task

SMOKE_INPUTS = 32
# the numeric precision each backend computes in (vendor NPUs: INT8)
BACKEND_PRECISION: dict[str, str] = {"onnxruntime-cpu": "fp32", "onnxruntime-cuda": "fp32"}
DEFAULT_TOLERANCE: dict[str, tuple[float, float]] = {
    "int8": (0.9, 0.05),
    "fp16": (0.95, 0.01),
    "fp32": (1.0, 1e-4),
}


@dataclass(frozen=True, slots=True)
class Tolerance:
    precision: str
    min_top1_agreement: float
    max_error: float


@dataclass(frozen=True, slots=True)
class Comparison:
    top1_agreement: float
    max_error: float
    tolerance: Tolerance
    inputs: int

    @property
    def ok(self) -> bool:
        return (
            self.top1_agreement >= self.tolerance.min_top1_agreement
            and self.max_error <= self.tolerance.max_error
        )

    def describe(self) -> str:
        t = self.tolerance
        return (
            f"top-1 agreement {self.top1_agreement:.1%} of {self.inputs} inputs "
            f"(min {t.min_top1_agreement:.0%}), max error {self.max_error:.3g} of the largest output "
            f"(max {t.max_error:g}, {t.precision.upper()})"
        )


def precision_of(backend: str) -> str:
    return BACKEND_PRECISION.get(backend, "int8")


# the profile settings of each precision's tolerance (named in full: every profile setting has a reader)
SMOKE_SETTINGS: dict[str, tuple[str, str]] = {
    "int8": ("smoke_int8_top1_agreement", "smoke_int8_max_error"),
    "fp16": ("smoke_fp16_top1_agreement", "smoke_fp16_max_error"),
    "fp32": ("smoke_fp32_top1_agreement", "smoke_fp32_max_error"),
}


def tolerance_for(settings: Mapping[str, object], precision: str) -> Tolerance:
    """The profile's tolerance for ``precision``: settings ``smoke_<precision>_top1_agreement``
    and ``smoke_<precision>_max_error``."""
    top1, error = DEFAULT_TOLERANCE[precision]
    top1_key, error_key = SMOKE_SETTINGS[precision]
    found_top1 = settings.get(top1_key, top1)
    found_error = settings.get(error_key, error)
    if not isinstance(found_top1, int | float) or not isinstance(found_error, int | float):
        raise ValueError(f"profile settings smoke_{precision}_*: numbers expected")
    return Tolerance(precision, float(found_top1), float(found_error))


def smoke_inputs(count: int = SMOKE_INPUTS, task: str = PerfSettings.accuracy_task) -> list[list[float]]:
    """The first ``count`` samples of the task's data set (as Python floats, exactly representable)."""
    import numpy

    values = numpy.load(load_task(task).files.inputs, allow_pickle=False)[:count]
    return [[float(value) for value in numpy.ravel(row)] for row in values]


def reference_outputs(
    inputs: Sequence[Sequence[float]], task: str = PerfSettings.accuracy_task
) -> list[list[float]]:
    """The task's model on ``inputs``, FP32 onnxruntime on this machine."""
    try:
        import numpy
        import onnxruntime
    except ImportError as error:
        raise InfrastructureError(
            f"the smoke check's FP32 reference needs onnxruntime on the controller "
            f"(pip install 'kcloud-lab[cpu-reference]'): {error}"
        ) from error
    path = load_task(task).files.model
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    array = numpy.asarray(inputs, dtype=numpy.float32)
    outputs = session.run(None, {session.get_inputs()[0].name: array})[0]
    return [[float(value) for value in row] for row in outputs]


def compare(
    outputs: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], tolerance: Tolerance
) -> Comparison:
    """How close the card's ``outputs`` are to the FP32 ``reference`` (shapes must agree)."""
    if len(outputs) != len(reference) or any(
        len(a) != len(b) for a, b in zip(outputs, reference, strict=False)
    ):
        return Comparison(0.0, float("inf"), tolerance, len(reference))
    scale = max((abs(value) for row in reference for value in row), default=0.0) or 1.0
    error = max(
        (
            abs(a - b)
            for out, ref in zip(outputs, reference, strict=True)
            for a, b in zip(out, ref, strict=True)
        ),
        default=0.0,
    )
    agree = sum(_argmax(out) == _argmax(ref) for out, ref in zip(outputs, reference, strict=True))
    return Comparison(agree / len(reference) if reference else 0.0, error / scale, tolerance, len(reference))


def _argmax(row: Sequence[float]) -> int:
    return max(range(len(row)), key=row.__getitem__)
