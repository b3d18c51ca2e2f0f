"""Node leases: one controller at a time per node, recorded on the node itself.

A lease is a directory (``~/.kcloud-lab/lease`` by default) created with an atomic
``mkdir`` on the node, holding ``owner.json`` (owner, run id, controller host, pid,
token, acquired/heartbeat/expiry times in the node's clock). Two controllers, two CI
jobs or two xdist workers can therefore never hold the same node::

    with NodeLease(transport, owner="ci-nightly", run_id="2026-11-25T02:00") as lease:
        ...                                  # heartbeats keep the lease alive meanwhile
    NodeLease(transport, owner="shard-2").acquire(wait=600)   # take turns: wait up to 10 min
    # released here, also on Ctrl-C; atexit releases leases still held at exit

Every take, release and break is also appended to ``<path>.log`` on the node
(``~/.kcloud-lab/lease.log``: owner, run id, token, event, node-clock time): an audit trail of
who tested the node when, which outlives the lease.

A lease nobody renews expires after ``ttl`` seconds; the next taker breaks it and logs
at WARNING who held it. Held by someone else and not expired: ``LeaseError`` naming the
holder and the expiry. Every value reaches the node as a separate argument of a fixed
``sh -c`` script: nothing is formatted into shell text.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
import weakref
from datetime import UTC, datetime
from types import FrameType, TracebackType

from lab.errors import LeaseError, TransportError
from lab.transport.base import Transport

log = logging.getLogger(__name__)

DEFAULT_LEASE_PATH = "~/.kcloud-lab/lease"
ORPHAN_GRACE = 30  # seconds: a lease dir without owner.json (holder died mid-write) is stale after this
_COMMAND_TIMEOUT = 20.0

# $1 action, $2 path, then action-specific arguments. Times come from the node's clock.
_SCRIPT = r"""
set -u
act=$1; p=$2
case $p in "~/"*) p="$HOME/${p#"~/"}" ;; esac
now=$(date +%s)
write() {
  printf '%s, "acquired_at": %s, "heartbeat_at": %s, "expires_at": %s}\n' "$1" "$2" "$now" "$((now + $3))" \
    > "$p/owner.json.tmp" && mv -f "$p/owner.json.tmp" "$p/owner.json"
}
mine() { grep -qF "\"token\": \"$1\"" "$p/owner.json" 2>/dev/null; }
# the audit trail beside the lease: who held the node when, kept after release (one short line each)
log() {
  printf '%s, "event": "%s", "at": "%s"}\n' "$2" "$1" "$(date +%s.%N 2>/dev/null || echo "$now")" \
    >> "$p.log" 2>/dev/null || true  # a full disk must not block taking or releasing the lease
}
case $act in
acquire)  # prefix ttl
  mkdir -p "$(dirname "$p")"
  if mkdir "$p" 2>/dev/null; then
    write "$3" "$now" "$4" && log acquired "$3" && echo "acquired $now"; exit
  fi
  echo "held $now $(stat -c %Y "$p" 2>/dev/null || echo 0)"
  cat "$p/owner.json" 2>/dev/null; exit 0 ;;
renew)  # token prefix acquired_at ttl
  if mine "$3"; then write "$4" "$5" "$6" && echo "renewed $now"; else echo lost; fi ;;
release)  # token
  if mine "$3"; then log released "{\"token\": \"$3\"" && rm -rf "$p" && echo released
  else echo "not-mine"; fi ;;
break)  # expected-token-or-dash prefix ttl
  if ! mkdir "$p.break" 2>/dev/null; then
    if [ -n "$(find "$p.break" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then rmdir "$p.break"; fi
    echo busy; exit 0
  fi
  still=no
  if [ "$3" = "-" ]; then [ -f "$p/owner.json" ] || still=yes
  elif mine "$3"; then
    exp=$(sed -n 's/.*"expires_at": \([0-9]*\).*/\1/p' "$p/owner.json")
    [ "${exp:-0}" -lt "$now" ] && still=yes
  fi
  if [ "$still" = yes ]; then
    rm -rf "$p"; mkdir "$p" && write "$4" "$now" "$5" && log broke "$4" && echo "acquired $now"
  else echo changed; fi
  rmdir "$p.break" ;;
esac
"""


class NodeLease:
    """A lease on one node through its transport (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        *,
        owner: str | None = None,
        run_id: str = "",
        ttl: float = 300.0,
        heartbeat: float | None = None,
        path: str = DEFAULT_LEASE_PATH,
    ) -> None:
        if ttl < 2:
            raise ValueError("a lease ttl must be at least 2 seconds")
        self.transport = transport
        self.node = transport.node_name
        self.owner = owner or f"{getpass.getuser()}@{socket.gethostname()}"
        self.run_id = run_id
        self.ttl = int(ttl)
        self.heartbeat_interval = heartbeat if heartbeat is not None else ttl / 3
        self.path = path
        self.token = secrets.token_hex(16)
        self.held = False
        self.lost = False  # set when a heartbeat found someone else's lease in place of ours
        self._acquired_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- life cycle ---------------------------------------------------------------------

    def acquire(self, *, wait: float = 0.0, poll: float = 1.0) -> NodeLease:
        """Take the lease (breaking an expired one) or raise ``LeaseError`` naming the holder.

        With ``wait`` > 0, a lease held by someone else is polled every ``poll`` seconds until
        it is free or ``wait`` seconds have passed (then ``LeaseError`` as without waiting):
        two controllers on overlapping shards then take turns on a shared node.
        """
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                return self._acquire_once()
            except LeaseError as error:
                remaining = deadline - time.monotonic()
                if not error.args or "leased by" not in str(error) or remaining <= 0:
                    raise
                log.info("%s: waiting for the lease (%s)", self.node, error)
                time.sleep(min(poll, remaining))

    def _acquire_once(self) -> NodeLease:
        for _attempt in range(3):
            reply = self._call("acquire", self._prefix(), str(self.ttl))
            if reply.startswith("acquired"):
                return self._taken(reply)
            holder, node_now, dir_age = _parse_held(reply)
            expires = _int(holder.get("expires_at"))
            if holder and expires >= node_now:
                raise LeaseError(
                    f"{self.node}: leased by {_describe(holder)} until {_iso(expires)} (node clock)"
                )
            if not holder and dir_age < ORPHAN_GRACE:
                continue  # another taker is between its mkdir and writing owner.json
            expected = str(holder.get("token", "-")) if holder else "-"
            reply = self._call("break", expected, self._prefix(), str(self.ttl))
            if reply.startswith("acquired"):
                log.warning(
                    "%s: broke an expired lease held by %s (expired %s)",
                    self.node,
                    _describe(holder) if holder else "nobody (no owner.json)",
                    _iso(expires) if holder else "-",
                )
                return self._taken(reply)
        raise LeaseError(f"{self.node}: could not take the lease at {self.path}: it kept changing hands")

    def release(self) -> None:
        """Stop the heartbeat and remove the lease if it is still ours; safe to call twice."""
        with self._lock:
            if not self.held:
                return
            self.held = False
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=_COMMAND_TIMEOUT)
        try:
            reply = self._call("release", self.token)
        except TransportError as error:
            log.warning(
                "%s: lease not released (%s); it expires by itself after %d s", self.node, error, self.ttl
            )
            return
        if reply != "released":
            log.warning("%s: the lease at %s was no longer ours at release", self.node, self.path)
        _HELD.discard(self)

    def renew(self) -> None:
        """Extend the lease by ``ttl`` from now; ``LeaseError`` if it is no longer ours."""
        reply = self._call("renew", self.token, self._prefix(), str(self._acquired_at), str(self.ttl))
        if reply == "lost":
            self.lost = True
            raise LeaseError(f"{self.node}: our lease was broken or replaced by another owner")

    def check(self) -> None:
        """Raise ``LeaseError`` if a heartbeat found the lease lost (call between test steps)."""
        if self.lost:
            raise LeaseError(f"{self.node}: the lease was lost during the run")

    def __enter__(self) -> NodeLease:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # --- internals ----------------------------------------------------------------------

    def _taken(self, reply: str) -> NodeLease:
        self._acquired_at = _int(reply.split()[1] if len(reply.split()) > 1 else 0)
        self.held = True
        self.lost = False
        self._stop.clear()
        _HELD.add(self)
        _install_sigterm_handler()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.node}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            try:
                self.renew()
            except LeaseError:
                log.error("%s: lease lost: another controller broke or replaced it", self.node)
                return
            except TransportError as error:
                log.warning("%s: lease heartbeat failed (%s); retrying", self.node, error)

    def _prefix(self) -> str:
        fields = {
            "owner": self.owner,
            "run_id": self.run_id,
            "controller": socket.gethostname(),
            "pid": os.getpid(),
            "token": self.token,
            "ttl": self.ttl,
        }
        return json.dumps(fields)[:-1]  # the script appends the node-clock times and the brace

    def _call(self, action: str, *arguments: str) -> str:
        result = self.transport.run(
            ["sh", "-c", _SCRIPT, "lab-lease", action, self.path, *arguments], timeout=_COMMAND_TIMEOUT
        )
        if result.exit_status != 0 and not result.stdout.strip():
            raise LeaseError(f"{self.node}: lease {action} failed: {result.stderr.strip()[:500]}")
        return result.stdout.strip()


def _parse_held(reply: str) -> tuple[dict[str, object], int, int]:
    first, _, body = reply.partition("\n")
    fields = first.split()
    node_now = _int(fields[1]) if len(fields) > 1 else 0
    mtime = _int(fields[2]) if len(fields) > 2 else 0
    try:
        holder = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        holder = {}
    return (holder if isinstance(holder, dict) else {}), node_now, node_now - mtime


def _describe(holder: dict[str, object]) -> str:
    return (
        f"{holder.get('owner', '?')} (run {holder.get('run_id') or '-'}, "
        f"controller {holder.get('controller', '?')} pid {holder.get('pid', '?')})"
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- release at exit and on SIGTERM ------------------------------------------------------

_HELD: weakref.WeakSet[NodeLease] = weakref.WeakSet()
_sigterm_installed = False


def release_all() -> None:
    """Release every lease this process still holds (registered with ``atexit``)."""
    for lease in list(_HELD):
        with contextlib.suppress(Exception):
            lease.release()


def _install_sigterm_handler() -> None:
    # SIGTERM (CI cancelling a job) would skip atexit; turn it into SystemExit so leases are released.
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_installed = True
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def _exit(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _exit)


atexit.register(release_all)
