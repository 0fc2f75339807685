"""Start and stop the REAL ``sealog`` binary for tests (no mocked server)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def sealog_binary() -> Path:
    """``$SEALOG_BIN``, else build package ``sealog`` with cargo into the default target dir."""
    env = os.environ.get("SEALOG_BIN")
    if env:
        return Path(env)
    cargo = shutil.which("cargo")
    if cargo is None:
        raise RuntimeError("cargo not found and SEALOG_BIN not set")
    subprocess.run([cargo, "build", "-q", "-p", "sealog"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "sealog"


class SealogServer:
    def __init__(self, binary: Path, data: Path, name: str = "sealog.test") -> None:
        self.binary = binary
        self.data = data
        self.name = name
        self.proc: subprocess.Popen[str] | None = None
        self.addr: str | None = None
        self.admin_token = ""
        self.ingest_key = ""
        self.read_key = ""
        self._stderr: list[str] = []

    @property
    def url(self) -> str:
        assert self.addr is not None
        return f"http://{self.addr}"

    def start(self) -> None:
        # A restart reuses the address; retry while the old socket is still being released.
        for attempt in range(40):
            try:
                self._start_once()
                return
            except RuntimeError:
                if self.addr is None or attempt == 39:
                    raise
                time.sleep(0.25)

    def _start_once(self) -> None:
        listen = self.addr or "127.0.0.1:0"
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "serve",
                "--data",
                str(self.data),
                "--listen",
                listen,
                "--name",
                self.name,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        out = proc.stdout
        err = proc.stderr
        threading.Thread(target=lambda: self._stderr.extend(err), daemon=True).start()
        line = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = out.readline()
            if not line:
                if proc.poll() is not None:
                    break
                continue
            m = re.search(r"listening on http://(\S+)", line)
            if m:
                self.addr = m.group(1)
                break
        else:  # pragma: no cover
            raise RuntimeError("sealog serve did not print its address")
        if self.addr is None or proc.poll() is not None:
            self.proc = None
            raise RuntimeError(f"sealog serve failed: {line!r} {''.join(self._stderr)[-2000:]}")
        threading.Thread(target=lambda: [None for _ in out], daemon=True).start()
        if not self.admin_token:
            self.admin_token = (self.data / "admin.token").read_text().strip()
            self.ingest_key = self.create_key("ingest")
            try:
                self.read_key = self.create_key("read")
            except Exception:
                self.read_key = self.admin_token

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def request(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {key or self.admin_token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        ctype = r.headers.get("Content-Type", "")
        return json.loads(raw) if raw and "json" in ctype else raw.decode()

    def create_key(self, role: str, log: str = "default") -> str:
        out = self.request("POST", f"/v1/logs/{log}/keys", {"role": role})
        return str(out["key"])

    def vkey(self, log: str = "default") -> str:
        info = self.info(log)
        for k in ("vkey", "log_key", "key", "verifier_key"):
            if isinstance(info.get(k), str):
                return str(info[k])
        raise KeyError(f"no verifier key in {info}")

    def info(self, log: str = "default") -> dict[str, Any]:
        out: dict[str, Any] = self.request("GET", f"/v1/logs/{log}", key=self.read_key)
        return out

    def events(self, log: str = "default", **filters: str) -> list[dict[str, Any]]:
        """Every event in the log (follows the cursor); returns the events themselves."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(100_000):
            q = dict(filters, limit="1000")
            if cursor:
                q["cursor"] = cursor
            qs = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in q.items())
            page = self.request("GET", f"/v1/logs/{log}/events?{qs}", key=self.read_key)
            items = page.get("events") or page.get("items") or page.get("results") or []
            for it in items:
                ev = it.get("event", it) if isinstance(it, dict) else it
                if isinstance(ev, str):
                    ev = json.loads(ev)
                if isinstance(ev, dict) and "leaf" in ev and "id" not in ev:
                    leaf = ev["leaf"]
                    ev = (json.loads(leaf) if isinstance(leaf, str) else leaf)["event"]
                out.append(ev)
            # A page may be short (even empty) while more follow: only the cursor ends the walk.
            cursor = page.get("next_cursor") or page.get("cursor") or page.get("next")
            if not cursor:
                break
        return out

    def log_size(self, log: str = "default") -> int:
        info = self.info(log)
        for k in ("size", "tree_size", "entries"):
            if isinstance(info.get(k), int):
                return int(info[k])
        raise KeyError(f"no size in {info}")


def wait_for(pred: Any, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(interval)
    return False
