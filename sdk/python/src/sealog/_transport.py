"""Minimal HTTP/1.1 transport (standard library only) with keep-alive and gzip bodies."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

__all__ = ["HttpResponse", "Transport", "TransportError", "parse_retry_after"]

USER_AGENT = "sealog-python/0.1.0"


class TransportError(Exception):
    """The server could not be reached or the connection broke."""


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))

    def error(self) -> tuple[str, str]:
        try:
            e = self.json()["error"]
            return str(e.get("code", self.status)), str(e.get("message", ""))
        except Exception:
            return str(self.status), self.body[:200].decode("utf-8", "replace")


def parse_retry_after(v: str | None) -> float | None:
    if not v:
        return None
    v = v.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    return max(0.0, dt.timestamp() - time.time())


class Transport:
    def __init__(self, url: str, api_key: str | None, timeout: float = 30.0) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"bad Sealog URL: {url!r}")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port
        self.base = u.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        gzip_body: bool = True,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> HttpResponse:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if body is not None:
            headers["Content-Type"] = content_type
            if gzip_body and len(body) > 1024:
                body = gzip.compress(body, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
        last: Exception | None = None
        for attempt in range(2):  # one silent reconnect for a stale keep-alive connection
            conn = self._connect()
            try:
                if timeout is not None:
                    conn.timeout = timeout
                    if conn.sock is not None:
                        conn.sock.settimeout(timeout)
                conn.request(method, self.base + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return HttpResponse(resp.status, hdrs, data)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                last = exc
                if attempt == 0 and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                ):
                    continue
                break
        raise TransportError(str(last)) from last
