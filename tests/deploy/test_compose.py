"""docker-compose.yml without a Docker engine: the Compose Specification's JSON
Schema, a health check on every service, and every file and name it refers to."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_matches_the_compose_specification(compose, validator):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_mistakes(compose, validator):
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["healthcheck"]["intervall"] = "15s"
    broken["services"]["kafka"]["depends_on"] = {"topics": {"condition": "service_finished"}}
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert not check.get("disable"), name
        test = check.get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: no health check"


def test_the_issue_s_services_are_there(compose):
    services = compose["services"]
    assert {"kafka", "topics", "worker", "generator", "prometheus", "alertmanager", "grafana"} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}  # KRaft
    assert services["generator"]["profiles"] == ["demo"]
    assert all("profiles" not in s for n, s in services.items() if n != "generator")
    assert services["worker"]["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


def test_mounted_and_built_paths_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in service:
            context = REPO / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_provisioning_and_configuration_are_mounted_where_the_services_read_them(compose):
    services = compose["services"]
    mounts = {name: dict(v.split(":")[:2] for v in s.get("volumes", [])) for name, s in services.items()}
    assert mounts["prometheus"]["./deploy/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert mounts["alertmanager"]["./deploy/alertmanager"] == "/etc/alertmanager"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in services["alertmanager"]["command"]
    grafana = mounts["grafana"]
    assert grafana["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    for kind in ("datasources", "dashboards"):
        assert list((REPO / "deploy" / "grafana" / "provisioning" / kind).glob("*.yml")), kind


def test_prometheus_scrapes_the_worker_and_alerts_through_alertmanager(compose):
    services = compose["services"]
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "riskwatch")
    (sd,) = job["dns_sd_configs"]
    worker = services["worker"]
    port = int(worker["environment"]["RISKWATCH_METRICS_ADDR"].rsplit(":", 1)[1])
    assert sd["names"] == ["worker"] and sd["port"] == port and str(port) in worker["expose"]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    paging = urlsplit(worker["environment"]["RISKWATCH_ALERTMANAGER_URL"])
    assert (paging.hostname, paging.port) == ("alertmanager", 9093)
    datasource = yaml.safe_load((REPO / "deploy" / "grafana" / "provisioning" / "datasources" /
                                 "prometheus.yml").read_text())["datasources"][0]
    assert urlsplit(datasource["url"]).hostname == "prometheus"


def test_readme_names_every_published_port(compose):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Production stack", 1)[1].split("\n## ", 1)[0]
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            host_port = str(mapping).split(":")[0]
            assert re.search(rf"\b{host_port}\b", section), f"README's Production stack omits port {host_port} ({name})"


def test_dockerfile_copies_only_what_exists():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"deploy/Dockerfile copies {source}, which does not exist"
    ignore = (REPO / "deploy" / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignore and ".git" in ignore
