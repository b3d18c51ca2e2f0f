"""Start and stop one emulated node's Redfish BMC (sushy-tools) on 127.0.0.1, by pid.

::

    bmc = start_bmc(Path("testbed/nodes/rngd-01"), "rngd-01", user="admin", password=secret)
    bmc.port, bmc.pid, bmc.fingerprint     # HTTPS port, process, SHA-256 of its certificate
    stop_pids([bmc.pid])

Everything lives in ``NODE_DIR/bmc/``: a self-signed certificate (pinned by the resolved
inventory like the sshd's host key), the htpasswd file with a bcrypt digest (sushy-tools'
basic auth; the password itself is never written), the sushy-tools configuration, the fake
driver's state and the log.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from lab.emulator.testbed.processes import alive, stop_pids
from lab.transport.sshd import free_port

START_DEADLINE = 20.0  # seconds for the Flask app to import and answer on HTTPS
ATTEMPTS = 3  # a port taken between choosing and binding: try another


@dataclass(frozen=True)
class BmcProcess:
    pid: int
    port: int
    fingerprint: str  # SHA-256 of the DER certificate, lowercase hex
    directory: str


def _certificate(directory: Path) -> str:
    """Write a self-signed certificate for 127.0.0.1 and its key; return its SHA-256 fingerprint."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulated-bmc")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "bmc.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(directory / "bmc.key", 0o600)
    (directory / "bmc.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _config(directory: Path, name: str, port: int) -> Path:
    """The sushy-tools configuration (a Python file of assignments; values written with repr)."""
    system = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.emulated.kcloud-lab")),
        "name": name,
        "power_state": "On",
        "nics": [{"mac": "52:54:00:00:00:01", "ip": "127.0.0.1"}],
    }
    settings = {
        "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
        "SUSHY_EMULATOR_LISTEN_PORT": port,
        "SUSHY_EMULATOR_SSL_CERT": str(directory / "bmc.crt"),
        "SUSHY_EMULATOR_SSL_KEY": str(directory / "bmc.key"),
        "SUSHY_EMULATOR_AUTH_FILE": str(directory / "htpasswd"),
        "SUSHY_EMULATOR_FAKE_DRIVER": True,
        "SUSHY_EMULATOR_FAKE_SYSTEMS": [system],
        "SUSHY_EMULATOR_STATE_DIR": str(directory / "state"),
    }
    path = directory / "sushy.conf"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()), encoding="utf-8")
    return path


def _answers(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only "is it up": the client pins the certificate
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1.0) as raw,
            context.wrap_socket(raw) as tls,
        ):
            # a finished TLS handshake: the server is up (an HTTP answer is not awaited, so a
            # node whose BMC has the bmc-timeout fault from the start still starts)
            return tls.version() is not None
    except OSError:
        return False


def bmc_command_marker(node_dir: str | Path) -> str:
    """Text in the BMC's command line that identifies it (a recycled pid never matches)."""
    return f"lab.emulator.bmc.server --node-dir {Path(node_dir).resolve()}"


def start_bmc(
    node_dir: Path, name: str, *, user: str, password: str, sshd_pid: int = 0, sshd_config: str = ""
) -> BmcProcess:
    """Start the BMC of the emulated node in ``node_dir``; raise RuntimeError if it never answers."""
    import bcrypt

    directory = (node_dir / "bmc").resolve()
    (directory / "state").mkdir(parents=True, exist_ok=True)
    fingerprint = _certificate(directory)
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()  # rounds: start-up cost
    (directory / "htpasswd").write_text(f"{user}:{digest}\n", encoding="utf-8")
    os.chmod(directory / "htpasswd", 0o600)
    last = ""
    for _ in range(ATTEMPTS):
        port = free_port()
        config = _config(directory, name, port)
        with open(directory / "bmc.log", "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lab.emulator.bmc.server",
                    "--node-dir",
                    str(node_dir.resolve()),
                    "--config",
                    str(config),
                    "--sshd-pid",
                    str(sshd_pid),
                    "--sshd-config",
                    sshd_config,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        end = time.monotonic() + START_DEADLINE
        while time.monotonic() < end and alive(process.pid):
            if _answers(port):
                return BmcProcess(process.pid, port, fingerprint, str(directory))
            time.sleep(0.1)
        stop_pids([process.pid])
        process.wait(timeout=5)
        last = (directory / "bmc.log").read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"the emulated BMC of {name} did not answer on HTTPS; its log ends:\n{last}")
