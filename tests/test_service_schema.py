"""Schemathesis over the running service's /openapi.json: generated requests never get a 5xx answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_service import Service, model_dir, service  # noqa: F401  (module fixtures: a real server)


def test_generated_requests_never_get_a_server_error(service: Service, tmp_path: Path) -> None:  # noqa: F811
    schemathesis = Path(sys.executable).parent / "schemathesis"
    done = subprocess.run(
        [str(schemathesis), "run", f"{service.server.url}/openapi.json", "--checks", "not_a_server_error",
         "--header", f"Authorization: Bearer {service.key}", "--max-examples", "15", "--seed", "7",
         "--phases", "examples,coverage,fuzzing", "--no-color", "--workers", "1"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "passed" in done.stdout and "failed" not in done.stdout.split("SUMMARY")[-1].lower(), done.stdout[-3000:]
