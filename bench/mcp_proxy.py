"""What `sealog mcp-proxy` adds to an MCP tool call (stdio), measured in one run.

usage: .venv/bin/python bench/mcp_proxy.py path/to/sealog [CALLS]

Starts `sealog serve` in a temporary directory and the test MCP server
(crates/sealog-cli/tests/mcp/server.py) twice: once for a direct connection, once behind the
proxy, both driven by the official MCP Python SDK's client. The calls alternate between the two
sessions so both see the same machine load; it prints p50/p99 of each, the difference, calls/s
through the proxy (one call at a time) and that every call was recorded.
"""

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
SERVER = str(ROOT / "crates/sealog-cli/tests/mcp/server.py")


def start_sealog(binary: str, data: Path) -> tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data", str(data), "--name", "bench.local"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert p.stdout is not None
    for line in p.stdout:
        if " listening on " in line:
            return p, line.split(" listening on ")[1].strip()
    raise SystemExit("sealog serve did not start")


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


async def main() -> None:
    binary, calls = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_sealog(binary, Path(tmp) / "data")
        token = (Path(tmp) / "data/admin.token").read_text().strip()
        try:
            direct = StdioServerParameters(command=sys.executable, args=[SERVER])
            proxied = StdioServerParameters(command=binary, args=[
                "mcp-proxy", "--server", url, "--token", token, "--spool-dir", f"{tmp}/spool",
                "--commitment-key", "a benchmark key of 16+ bytes", "--", sys.executable, SERVER])
            lat: dict[str, list[float]] = {"direct": [], "proxy": []}
            async with Client(direct) as d, Client(proxied) as p:
                for c in (d, p):  # warm up
                    for _ in range(20):
                        await c.call_tool("add", {"a": 1, "b": 2})
                for i in range(calls):
                    for name, c in (("direct", d), ("proxy", p)):
                        t = time.perf_counter()
                        await c.call_tool("add", {"a": i, "b": 1})
                        lat[name].append((time.perf_counter() - t) * 1e3)
            recorded = count_tool_calls(url, token, calls + 20)
        finally:
            server.terminate()
            server.wait()
    for name, xs in lat.items():
        print(f"{name:7} p50 {pct(xs, 0.5):.3f} ms  p99 {pct(xs, 0.99):.3f} ms  "
              f"mean {statistics.mean(xs):.3f} ms")
    d50, p50 = pct(lat["direct"], 0.5), pct(lat["proxy"], 0.5)
    d99, p99 = pct(lat["direct"], 0.99), pct(lat["proxy"], 0.99)
    print(f"added   p50 {p50 - d50:.3f} ms  p99 {p99 - d99:.3f} ms")
    print(f"through the proxy: {1e3 / statistics.mean(lat['proxy']):.0f} calls/s (one at a time)")
    print(f"tool_call events recorded: {recorded} of {calls + 20}")


def count_tool_calls(url: str, token: str, want: int) -> int:
    """tool_call events in the log, once the index has them (or after 10 s)."""
    n, deadline, cursor = 0, time.time() + 10, None
    while time.time() < deadline:
        n, cursor = 0, None
        while True:
            q = f"{url}/v1/logs/default/events?action=tool_call&limit=1000"
            if cursor:
                q += f"&cursor={cursor}"
            req = urllib.request.Request(q, headers={"Authorization": f"Bearer {token}"})
            page = json.load(urllib.request.urlopen(req))
            n += len(page["events"])
            cursor = page.get("next")
            if not cursor:
                break
        if n >= want:
            break
        time.sleep(0.2)
    return n


asyncio.run(main())
