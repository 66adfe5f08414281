"""Fixtures for the channel tests: a real HTTP receiver, a TLS certificate, notifications."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from driftline.alerts import Alert, AlertState, Notification
from driftline.alerts.channels import NetworkPolicy

NOW = 1_790_000_000.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers from a script."""

    url: str
    requests: list[Received] = field(default_factory=list)
    #: (status, headers, body) answered in order; 200 once they run out.
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    Received(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                status, headers, reply = state.script.pop(0) if state.script else (200, {}, b"ok")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A plain-HTTP receiver on 127.0.0.1."""
    yield from _serve()


@pytest.fixture
def tls_receiver(hooks_cert: tuple[Path, Path]) -> Iterator[Receiver]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names only ``hooks.test``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*hooks_cert)
    yield from _serve(context)


@pytest.fixture
def local_policy() -> NetworkPolicy:
    """The default policy plus an explicit allow for the test's loopback receiver."""
    return NetworkPolicy(allow=["127.0.0.1/32"])


def _make_cert(root: Path, san: str) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", "/CN=driftline-test", "-addext", f"subjectAltName={san}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (made with the openssl CLI)."""
    return _make_cert(tmp_path_factory.mktemp("tls"), "IP:127.0.0.1,DNS:localhost")


@pytest.fixture(scope="session")
def hooks_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name ``hooks.test`` only (no IP address)."""
    return _make_cert(tmp_path_factory.mktemp("hooks-tls"), "DNS:hooks.test")


def make_alert(
    name: str,
    reason: str,
    *,
    state: AlertState = AlertState.FIRING,
    model: str = "churn",
    resolved_at: float | None = None,
) -> Alert:
    return Alert(
        fingerprint=f"fp-{name}",
        labels={"alertname": name, "model": model, "severity": "warning"},
        state=state,
        started_at=NOW - 600,
        updated_at=NOW - 60,
        annotations={"summary": f"{name} on {model}"},
        fired_at=NOW - 300,
        resolved_at=resolved_at,
        value=0.31,
        reason=reason,
    )


def make_notification(*alerts: Alert, status: str = "firing", nid: str = "n-0001") -> Notification:
    return Notification(
        id=nid,
        receiver="ops",
        group_key='{}:{model="churn"}',
        group_labels={"model": "churn"},
        status=status,  # type: ignore[arg-type]
        alerts=alerts,
        created_at=NOW,
        external_url="https://driftline.example.com/alerts",
    )


@pytest.fixture
def now() -> float:
    return NOW


@pytest.fixture
def firing_notification() -> Notification:
    """Two firing alerts; one reason carries characters Slack and HTML must escape."""
    return make_notification(
        make_alert("psi_age", "psi 0.31 > 0.2 on feature <age> & income"),
        make_alert("accuracy_drop", "accuracy 0.81 < 0.90 over 500 labels"),
    )


@pytest.fixture
def mixed_notification() -> Notification:
    """One alert still firing, one just resolved."""
    return make_notification(
        make_alert("psi_age", "psi 0.31 > 0.2"),
        make_alert(
            "latency_p99",
            "p99 latency back under 250 ms",
            state=AlertState.RESOLVED,
            resolved_at=NOW - 30,
        ),
        nid="n-0002",
    )


@pytest.fixture
def resolved_notification() -> Notification:
    """Every alert resolved."""
    return make_notification(
        make_alert("psi_age", "psi back to 0.05", state=AlertState.RESOLVED, resolved_at=NOW - 30),
        status="resolved",
        nid="n-0003",
    )
