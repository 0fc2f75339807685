"""`sse_raw.py HOST:PORT`: one HTTP+SSE session in plain HTTP (the standard library's client),
printing as JSON the event stream's bytes as they came and each post's status and body, with
the session id replaced by SESSION, so that two runs (direct and through the proxy) compare. The
posts go to the announced endpoint's path (on HOST:PORT, where it must point)."""

import http.client
import json
import sys
from urllib.parse import urlsplit

host = sys.argv[1]
stream = http.client.HTTPConnection(host, timeout=10)
stream.request("GET", "/sse", headers={"Accept": "text/event-stream"})
answer = stream.getresponse()
got = bytearray()


def event() -> bytes:
    """The next event of the stream, its bytes kept in `got`."""
    lines = []
    while True:
        line = answer.readline()
        assert line, "the stream ended"
        got.extend(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)
        lines.append(line)


endpoint = next(line[5:].strip().decode() for line in event().splitlines() if line.startswith(b"data:"))
session = endpoint.split("session_id=")[1]
to = urlsplit(endpoint)
path = f"{to.path}?{to.query}"
info = {"name": "raw", "version": "1"}
messages: list[dict[str, object]] = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": info}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "fail", "arguments": {"why": "raw"}}},
    {"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "greeting://ada"}},
]
replies = []
for m in messages:
    post = http.client.HTTPConnection(host, timeout=10)
    post.request("POST", path, body=json.dumps(m), headers={"Content-Type": "application/json"})
    r = post.getresponse()
    replies.append([r.status, r.getheader("content-type"), r.read().decode()])
    if "id" in m:
        event()  # its answer
print(json.dumps({"stream": got.decode().replace(session, "SESSION"), "replies": replies}))
