"""The ``fleet run`` compose override (docker/compose.fleet-run.yaml), checked without a daemon:
it overrides only the DSP, its command parses with the real CLI, and the broker node it names
is one of the EMQX override's nodes while the workers stay on the other."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from emulator.cli import build_parser
from emulator.transport.broker import BrokerUrl

DOCKER = Path(__file__).resolve().parents[2] / "docker"
_VAR = re.compile(r"\$\{(\w+):-([^}]*)\}")


def _services(name: str) -> dict:  # type: ignore[type-arg]
    doc = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), name
    return doc["services"]  # type: ignore[no-any-return]


def test_fleet_run_override_drives_the_replicas_through_the_other_cluster_node():
    base, emqx, over = _services("compose.yaml"), _services("compose.emqx.yaml"), _services("compose.fleet-run.yaml")
    assert set(over) == {"dsp"}
    assert set(over["dsp"]["depends_on"]) <= set(base) | set(emqx)
    cmd = [_VAR.sub(lambda m: m.group(2), str(a)) for a in over["dsp"]["command"]]
    args = build_parser().parse_args(cmd)
    assert (args.fleet_command, args.workers) == ("run", 0)
    dsp_node = BrokerUrl.parse(args.broker).host
    worker_node = BrokerUrl.parse(base["worker"]["command"][base["worker"]["command"].index("--broker") + 1]).host
    assert dsp_node in emqx and worker_node in emqx and dsp_node != worker_node
    assert args.report == Path("/data/fleet-run.json")
    assert any(v.split(":")[1] == "/data" for v in base["dsp"]["volumes"])  # the report outlives the container
    # The default premises match the default replicas: 4 workers x 25 (compose.yaml).
    worker = build_parser().parse_args([_VAR.sub(lambda m: m.group(2), str(a)) for a in base["worker"]["command"]])
    assert args.premises == base["worker"]["deploy"]["replicas"] * worker.count
