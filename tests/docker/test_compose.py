"""The compose files and the Dockerfile, checked without a Docker daemon (and built where one is)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ROOT = DOCKER.parent


def _compose(name: str) -> dict:  # type: ignore[type-arg]
    doc = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), name
    return doc


def test_compose_references_resolve():
    doc = _compose("compose.yaml")
    services = doc["services"]
    assert {"broker", "dsp", "worker"} <= set(services)
    volumes = set(doc.get("volumes", {}))
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        for dep in svc.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown {dep}"
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).exists(), f"{name}: {src} does not exist"
            else:
                assert src in volumes, f"{name}: volume {src} not declared"
        for port in svc.get("ports", []):
            host, _, container = str(port).partition(":")
            assert host.isdigit() and container.isdigit(), port
        if "build" in svc:
            ctx = (DOCKER / svc["build"]["context"]).resolve()
            assert (ctx / svc["build"]["dockerfile"]).is_file()
    worker_cmd = services["worker"]["command"]
    assert worker_cmd[0] == "run" and "--broker" in worker_cmd
    assert services["worker"]["image"] == services["dsp"]["image"]


def test_emqx_override_only_overrides_known_services():
    base, over = _compose("compose.yaml"), _compose("compose.emqx.yaml")
    assert "broker" in over["services"] and set(over["services"]) - set(base["services"]) == {"broker2"}


def test_dockerfile_copies_what_exists_and_runs_the_cli():
    lines = (DOCKER / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY")]
    for sources in copies:
        for src in sources:
            assert (ROOT / src).exists(), src
    assert any(line.startswith("ENTRYPOINT") and "smets2-emu" in line for line in lines)


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True,
                                                                     check=False).returncode != 0,
                    reason="no Docker daemon here")
def test_compose_config_with_docker():
    r = subprocess.run(["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
