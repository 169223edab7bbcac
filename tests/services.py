"""Real services for tests, each on a free loopback port, stopped by PID: an
HTTP sink for webhooks, Alertmanager, and (for the metrics tests) Prometheus."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from streams.broker import free_port

REPO = Path(__file__).resolve().parents[1]


class WebhookSink:
    """Collects the JSON bodies POSTed to it (Alertmanager's webhook receiver)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self) -> list[dict]:
        """Every alert of every notification received so far, with its receiver path."""
        return [{**a, "path": path} for path, body in self.received for a in body.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class Alertmanager:
    """``prometheus-alertmanager`` with the project's routing, receivers pointed at ``webhook_base``."""

    def __init__(self, workdir: Path, webhook_base: str, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = (REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
        self.config_path = workdir / "alertmanager.yml"
        self.config_path.write_text(config.replace("http://127.0.0.1:9999", webhook_base))
        self.process: subprocess.Popen | None = None

    def start(self) -> "Alertmanager":
        storage = self.workdir / "am-data"
        storage.mkdir(exist_ok=True)
        log = open(self.workdir / "alertmanager.log", "ab")
        self.process = subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={self.config_path}", f"--storage.path={storage}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_http(f"{self.url}/api/v2/status")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def active_alerts(self) -> list[dict]:
        return get_json(f"{self.url}/api/v2/alerts?active=true")
