"""The emulated node's directory: its spec and its mutable state under an fcntl lock.

Tool invocations run concurrently (several SSH sessions, xdist workers), so every
read-modify-write of ``state.json`` happens inside ``NodeDir.transaction()``, which holds
an exclusive ``fcntl.flock`` on ``state.lock`` and replaces the file atomically::

    node = NodeDir("/tmp/testbed/nodes/rngd-01")
    with node.transaction() as state:
        state.device(0).queries += 1

Layout: ``spec.json`` (written once by the launcher), ``state.json``, ``state.lock``.
"""

from __future__ import annotations

import fcntl
import os
import time

from lab.emulator import jsontext
from lab.emulator.defaults import NODE_DIR_ENV, TIME_ENV
from lab.emulator.spec import NodeSpec, SpecError

TYPE_CHECKING = False  # typing and contextlib cost ~8 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from types import TracebackType

# Older busy intervals are folded into the thermal checkpoint beyond this many.
MAX_INTERVALS = 64


class NodeStateError(RuntimeError):
    """The node directory is missing, unreadable or corrupt (tools print this and exit 2)."""


class DeviceRecord:
    """Mutable state of one device, a view over its JSON object in ``state.json``.

    ``busy`` holds ``[start, end, utilization]`` intervals of emulated time;
    ``checkpoint`` the ``[time, temperature]`` the thermal model integrates from;
    ``resets`` the emulated times of device resets; ``fault_starts`` the start time of
    query-triggered faults by their index in the spec; ``owner`` the workload holding it.
    """

    __slots__ = ("data",)

    def __init__(self, data: dict[str, object]) -> None:
        self.data = data
        data.setdefault("queries", 0)
        data.setdefault("busy", [])
        data.setdefault("checkpoint", None)
        data.setdefault("resets", [])
        data.setdefault("fault_starts", {})
        data.setdefault("owner", None)

    @property
    def queries(self) -> int:
        value = self.data["queries"]
        return value if isinstance(value, int) else 0

    @queries.setter
    def queries(self, value: int) -> None:
        self.data["queries"] = value

    @property
    def busy(self) -> list[list[float]]:
        return self.data["busy"]  # type: ignore[return-value]

    @property
    def checkpoint(self) -> tuple[float, float] | None:
        value = self.data["checkpoint"]
        if value is None:
            return None
        return float(value[0]), float(value[1])  # type: ignore[index]

    @checkpoint.setter
    def checkpoint(self, value: tuple[float, float]) -> None:
        self.data["checkpoint"] = [value[0], value[1]]

    @property
    def resets(self) -> list[float]:
        return self.data["resets"]  # type: ignore[return-value]

    @property
    def fault_starts(self) -> dict[str, float]:
        return self.data["fault_starts"]  # type: ignore[return-value]

    @property
    def owner(self) -> dict[str, object] | None:
        return self.data["owner"]  # type: ignore[return-value]

    @owner.setter
    def owner(self, value: dict[str, object] | None) -> None:
        self.data["owner"] = value


class NodeState:
    """The whole mutable state of a node: one ``DeviceRecord`` per device."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, object]) -> None:
        self.data = data
        data.setdefault("devices", {})

    def device(self, index: int) -> DeviceRecord:
        devices: dict[str, dict[str, object]] = self.data["devices"]  # type: ignore[assignment]
        return DeviceRecord(devices.setdefault(str(index), {}))


class NodeDir:
    """One emulated node's directory. ``NodeDir.from_environment()`` inside a tool."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._spec: NodeSpec | None = None

    @classmethod
    def from_environment(cls) -> NodeDir:
        path = os.environ.get(NODE_DIR_ENV)
        if not path:
            raise NodeStateError(f"{NODE_DIR_ENV} is not set: this tool only runs inside an emulated node")
        return cls(path)

    @property
    def spec(self) -> NodeSpec:
        if self._spec is None:
            where = os.path.join(self.path, "spec.json")
            try:
                with open(where, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as error:
                raise NodeStateError(f"cannot read the node spec {where}: {error.strerror}") from error
            try:
                self._spec = NodeSpec.from_json(text, where)
            except SpecError as error:
                raise NodeStateError(str(error)) from error
        return self._spec

    def now(self) -> float:
        """Emulated seconds since the node started: wall time × time scale, or ``KCLOUD_EMU_TIME``."""
        fixed = os.environ.get(TIME_ENV)
        if fixed:
            try:
                return float(fixed)
            except ValueError as error:
                raise NodeStateError(f"{TIME_ENV} must be a number of seconds, got {fixed!r}") from error
        spec = self.spec
        return max(0.0, (time.time() - spec.start_wall) * spec.time_scale)

    def wall_seconds(self, emulated: float) -> float:
        """How many wall-clock seconds ``emulated`` seconds of this node take."""
        return emulated / self.spec.time_scale

    def transaction(self) -> Transaction:
        """Lock the node, load its state, yield it, and save it atomically on normal exit."""
        return Transaction(self.path)

    def read(self) -> NodeState:
        """A snapshot of the state without keeping the lock (for read-only views)."""
        with self.transaction() as state:
            return state


class Transaction:
    """``with node.transaction() as state:`` — the node locked, its state loaded, saved on normal exit.

    A class rather than ``contextlib.contextmanager``: contextlib's imports cost every tool
    call ~5 ms of CPU. An exception inside the block leaves ``state.json`` as it was.
    """

    __slots__ = ("_lock", "_state", "_state_path", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._state_path = os.path.join(path, "state.json")
        self._lock: int | None = None
        self._state: NodeState | None = None

    def __enter__(self) -> NodeState:
        lock_path = os.path.join(self.path, "state.lock")
        try:
            lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise NodeStateError(f"cannot open {lock_path}: {error.strerror}") from error
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._state = NodeState(_load(self._state_path))
        except BaseException:
            os.close(lock)
            raise
        self._lock = lock
        return self._state

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            if exc_type is None and self._state is not None:
                temporary = f"{self._state_path}.{os.getpid()}.tmp"
                with open(temporary, "w", encoding="utf-8") as handle:
                    handle.write(jsontext.dumps(self._state.data, separators=(",", ":")))
                os.replace(temporary, self._state_path)
        finally:
            os.close(lock)  # closing releases the flock


def _load(state_path: str) -> dict[str, object]:
    try:
        with open(state_path, encoding="utf-8") as handle:
            data = jsontext.loads(handle.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise NodeStateError(f"corrupt node state {state_path}: {error}") from error
    if not isinstance(data, dict):
        raise NodeStateError(f"corrupt node state {state_path}: not an object")
    return data
