"""`prismrec serve` as a child process: start it, wait until it answers, stop or kill it.

Used by integration tests and the load benchmark, and by anyone who drives the service from Python.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prismrec.errors import PrismrecError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """One `prismrec serve --model MODEL --db DB` on 127.0.0.1; its stderr (JSON lines) goes to `log`.

    Args:
        model: a fitted pipeline folder.
        db: the SQLite file.
        log: file that receives the server's stderr (appended).
        env: extra environment variables for the child.
    """

    def __init__(self, model: Path, db: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.model, self.db, self.log, self.env = model, db, log, env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> ServerProcess:
        """Start on a free port and return once GET /health answers 200 (raises with the log tail otherwise)."""
        self.port = free_port()
        with open(self.log, "ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prismrec", "serve", "--model", str(self.model), "--db", str(self.db),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, **self.env},
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrismrecError(f"prismrec serve exited {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1.0) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise PrismrecError(f"/health not up within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (what a crash looks like)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
