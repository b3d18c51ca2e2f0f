"""The record of one finished (or never finished) test: the source of truth for every view.

A ``TestRecord`` is written by ``RunWriter.record`` the moment a test ends and read back by
``load_run``; JUnit, Allure, the HTML report and the history are all built from records.
It round-trips through JSON exactly::

    record = TestRecord(
        test_id="testsuites/functional/test_pcie.py::test_link[kt-rbln-07:rbln2]",
        node="kt-rbln-07", device="rbln2", outcome=Outcome.FAIL,
        measurements=(m,), started=start, finished=end, duration=1.25, worker="gw1",
    )
    assert TestRecord.from_dict(record.to_dict()) == record
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TypeVar

from lab.criteria import DataFormatError, JsonValue, Measurement, Outcome
from lab.criteria.jsonfields import Fields
from lab.inventory.model import Axis

_E = TypeVar("_E", Outcome, Axis)

RECORD_SCHEMA = 1
"""Version of the JSON shape written by ``TestRecord.to_dict`` (key ``"schema"``)."""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a test did not pass: the exception type and its message (secrets already masked).

    ``details`` holds the longer text a reader may want (pytest's failure report, the tail
    of a command transcript); ``message`` is the one-paragraph summary.
    """

    type: str
    message: str
    details: str = ""

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type

    def to_dict(self) -> dict[str, JsonValue]:
        return {"type": self.type, "message": self.message, "details": self.details}

    @classmethod
    def from_exception(cls, exc: BaseException, details: str = "") -> ErrorInfo:
        """The error of ``exc``, named by its class (``lab.errors.CommandTimeout``)."""
        kind = type(exc)
        module = kind.__module__
        name = kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
        return cls(type=name, message=str(exc), details=details)


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One test's result on one node/device.

    ``test_id`` is the pytest node id (unique within a run, node/device part of it);
    ``node``/``device`` are None for tests that are not about one node or device.
    ``started``/``finished`` are timezone-aware UTC datetimes (None for INCOMPLETE tests
    that never started); ``duration`` is seconds. ``axis`` is the test's own axis when it
    declares one; ``axes`` adds its measurements' axes. ``reason`` says why it was skipped
    or left incomplete; ``error`` why it failed or errored. ``evidence`` lists files relative
    to the run directory. ``properties`` are free-form JSON values for views and history
    (trust mode, host key fingerprint, versions seen ...).
    """

    __test__ = False  # a record, not a pytest test class, despite its name

    test_id: str
    outcome: Outcome
    node: str | None = None
    device: str | None = None
    axis: Axis | None = None
    measurements: tuple[Measurement, ...] = ()
    started: datetime | None = None
    finished: datetime | None = None
    duration: float = 0.0
    error: ErrorInfo | None = None
    reason: str = ""
    evidence: tuple[str, ...] = ()
    worker: str = "main"
    properties: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for name in ("started", "finished"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"TestRecord.{name} must be timezone-aware (use datetime.now(UTC))")
        if not isinstance(self.properties, MappingProxyType):
            object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    @property
    def axes(self) -> frozenset[Axis]:
        """The test's axis plus every measurement's axis."""
        found = {m.axis for m in self.measurements}
        if self.axis is not None:
            found.add(self.axis)
        return frozenset(found)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "schema": RECORD_SCHEMA,
            "test_id": self.test_id,
            "outcome": self.outcome.value,
            "node": self.node,
            "device": self.device,
            "axis": self.axis.value if self.axis else None,
            "measurements": [m.to_dict() for m in self.measurements],
            "started": _timestamp(self.started),
            "finished": _timestamp(self.finished),
            "duration": self.duration,
            "error": self.error.to_dict() if self.error else None,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "worker": self.worker,
            "properties": dict(self.properties),
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "record") -> TestRecord:
        """The record ``to_dict`` wrote. Unknown keys are ignored (newer writers may add
        some); a missing or mistyped known key raises ``DataFormatError`` naming it."""
        fields = Fields(data, where=where)
        test_id = fields.text("test_id")
        fields = Fields(data, where=f"{where} ({test_id})")
        error = fields.sub("error")
        axis = fields.optional_text("axis")
        duration = fields.number("duration", 0.0)
        if not math.isfinite(duration) or duration < 0:
            raise DataFormatError(f"{fields.where}: field 'duration' must be a number >= 0")
        return cls(
            test_id=test_id,
            outcome=_parse(Outcome, fields.text("outcome"), fields.where, "outcome"),
            node=fields.optional_text("node"),
            device=fields.optional_text("device"),
            axis=_parse(Axis, axis, fields.where, "axis") if axis is not None else None,
            measurements=tuple(
                Measurement.from_dict(item, where=f"{fields.where}: measurements[{index}]")
                for index, item in enumerate(fields.objects("measurements"))
            ),
            started=parse_timestamp(fields.optional_text("started"), fields.where, "started"),
            finished=parse_timestamp(fields.optional_text("finished"), fields.where, "finished"),
            duration=duration,
            error=(
                ErrorInfo(error.text("type"), error.text("message", ""), error.text("details", ""))
                if error is not None
                else None
            ),
            reason=fields.text("reason", ""),
            evidence=fields.texts("evidence"),
            worker=fields.text("worker", "main"),
            properties=fields.mapping("properties"),
        )


def utc_now() -> datetime:
    """The current time, timezone-aware UTC: what ``started``/``finished`` expect."""
    return datetime.now(UTC)


def _timestamp(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def parse_timestamp(text: str | None, where: str, key: str) -> datetime | None:
    """A timezone-aware datetime from ISO 8601 text (None stays None); ``DataFormatError`` otherwise."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DataFormatError(f"{where}: field {key!r} is not an ISO 8601 timestamp: {text!r}") from None
    if moment.utcoffset() is None:
        raise DataFormatError(f"{where}: field {key!r} has no time zone: {text!r}")
    return moment


def _parse(kind: type[_E], text: str, where: str, key: str) -> _E:
    try:
        return kind(text)
    except ValueError:
        valid = ", ".join(item.value for item in kind)
        raise DataFormatError(f"{where}: field {key!r} is {text!r}, expected one of {valid}") from None
