"""deploy/: every command a container runs is one `iub` knows, with options it accepts, and every
probe and scrape path is one the application serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.journal.router import metrics_router
from app.main import create_app
from tests.conftest import make_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.relative_to(DEPLOY).as_posix(), doc)
        for path in sorted(DEPLOY.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    spec = spec.get("jobTemplate", {}).get("spec", spec)
    return list(spec.get("template", {}).get("spec", {}).get("containers", []))


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, doc in _documents():
        if name == "compose.yaml":
            found += [(f"{name}:{svc}", s["command"]) for svc, s in doc["services"].items() if "command" in s]
        for container in _containers(doc):
            found.append((f"{name}:{container['name']}", container["args"]))
    return found


def test_the_manifests_name_the_pieces_the_issue_asks_for() -> None:
    commands = {" ".join(args[:2]) for _, args in _commands()}
    assert {"migrate", "serve --host", "worker --concurrency", "disposal run", "purge", "stats refresh"} <= commands
    kinds = {(name, doc["kind"]) for name, doc in _documents() if name != "compose.yaml"}
    assert ("kubernetes/migrate-job.yaml", "Job") in kinds
    assert {kind for _, kind in kinds} >= {"Deployment", "CronJob", "Job", "ConfigMap", "Service"}


@pytest.mark.parametrize(("where", "args"), _commands(), ids=[w for w, _ in _commands()])
def test_every_command_is_one_iub_accepts(where: str, args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, f"{where}: {args}: {result.output}"


def test_probes_and_scrapes_point_at_served_paths() -> None:
    app = create_app(make_settings("sqlite+aiosqlite://"))
    paths = set(app.openapi()["paths"]) | {getattr(route, "path", None) for route in metrics_router.routes}
    for name, doc in _documents():
        for container in _containers(doc):
            for probe in ("readinessProbe", "livenessProbe"):
                http = container.get(probe, {}).get("httpGet")
                if http:
                    assert http["path"] in paths, f"{name}: {http['path']}"
        annotations = doc.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        if "prometheus.io/path" in annotations:
            assert annotations["prometheus.io/path"] in paths
