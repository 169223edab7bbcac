"""Real services for tests, each on a free loopback port, stopped by PID: an
HTTP sink for webhooks, Alertmanager, (for the metrics tests) Prometheus, and
headless Chromium (the report's browser test)."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
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


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.3):
    """``predicate()``'s first truthy value, polled every ``interval_s``; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out waiting for {what}")


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
        self.process = spawn(
            ["prometheus-alertmanager", f"--config.file={self.config_path}", f"--storage.path={storage}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            self.workdir / "alertmanager.log")
        wait_http(f"{self.url}/api/v2/status")
        return self

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def active_alerts(self) -> list[dict]:
        return get_json(f"{self.url}/api/v2/alerts?active=true")


def spawn(argv: list[str], log_path: Path) -> subprocess.Popen:
    """Start a service with its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def terminate(process: subprocess.Popen | None) -> None:
    """SIGTERM, then SIGKILL after 10 s: a service this module started."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Prometheus:
    """``prometheus`` with the project's configuration and rules, made to scrape ``targets``.

    The configuration is ``deploy/prometheus/prometheus.yml`` with the
    riskwatch job pointed at ``targets`` (``host:port`` of workers' /metrics),
    every other job and the Alertmanager dropped, and the scrape and
    evaluation intervals (also each rule group's own) set to ``interval``, so a
    test of a minute or two has enough samples.
    """

    def __init__(self, workdir: Path, targets: list[str], interval: str = "1s", port: int | None = None) -> None:
        import yaml  # only the metrics tests need it

        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        source = REPO / "deploy" / "prometheus"
        config = yaml.safe_load((source / "prometheus.yml").read_text())
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
        config.pop("alerting", None)
        job = next(j for j in config["scrape_configs"] if j["job_name"] == "riskwatch")
        for key in [k for k in job if k.endswith("_sd_configs")]:
            del job[key]
        job["static_configs"] = [{"targets": targets}]
        config["scrape_configs"] = [job]
        rules = workdir / "rules"
        rules.mkdir(exist_ok=True)
        for path in sorted((source / "rules").glob("*.yml")):
            groups = yaml.safe_load(path.read_text())
            for group in groups["groups"]:
                if "interval" in group:
                    group["interval"] = interval
            (rules / path.name).write_text(yaml.safe_dump(groups, sort_keys=False))
        config["rule_files"] = [str(rules / "*.yml")]
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process: subprocess.Popen | None = None

    def start(self) -> "Prometheus":
        storage = self.workdir / "prometheus-data"
        storage.mkdir(exist_ok=True)
        self.process = spawn(
            ["prometheus", f"--config.file={self.config_path}", f"--storage.tsdb.path={storage}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            self.workdir / "prometheus.log")
        wait_http(f"{self.url}/-/ready")
        return self

    def stop(self) -> None:
        terminate(self.process)
        self.process = None

    def api(self, path: str, **params: object):
        """``/api/v1/<path>``'s data; raises AssertionError with Prometheus's error otherwise."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            body = get_json(url)
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """An instant query's result: ``[{"metric": {...}, "value": [t, "v"]}, ...]``."""
        return self.api("query", query=expr, **({"time": at} if at is not None else {}))["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        """A range query's result: ``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]``."""
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def rules(self) -> list[dict]:
        """Every rule of every loaded group, with its ``health``, ``lastError`` and (alerts) ``state``."""
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]

    def targets(self) -> list[dict]:
        return self.api("targets")["activeTargets"]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join((self.workdir / "prometheus.log").read_text(errors="replace").splitlines()[-lines:])


def headless_chromium(workdir: Path, url: str, *args: str, timeout_s: float = 120.0) -> str:
    """Run Debian's ``chromium`` headless on ``url`` once (``--screenshot=...``,
    ``--dump-dom``...) with a profile of its own under ``workdir``, no network
    services, and return what it printed on stdout (the DOM for ``--dump-dom``)."""
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", *args, url]
    done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
    return done.stdout.decode()
