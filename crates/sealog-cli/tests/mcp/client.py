"""Drives an MCP session with the official SDK and prints what came back, one JSON line per
call. `client.py stdio CMD ARGS…` launches CMD over stdio; `client.py http URL` connects over
Streamable HTTP, `client.py sse URL` over HTTP+SSE (targets.py). With `SEALOG_TEST_PAUSE=1` it
prints `paused` and waits for a line on stdin after the first call and again before it
disconnects."""

import asyncio
import json
import os
import sys

from mcp import Client
from targets import target


async def pause() -> None:
    if os.environ.get("SEALOG_TEST_PAUSE"):
        print("paused", flush=True)
        await asyncio.to_thread(sys.stdin.readline)


async def main() -> None:
    async with Client(target(sys.argv[1:])) as client:
        r = await client.call_tool("add", {"a": 2, "b": 3})
        print(json.dumps({"add": r.structured_content, "is_error": r.is_error}), flush=True)
        await pause()
        r = await client.call_tool("fail", {"why": "testing"})
        print(json.dumps({"fail_is_error": r.is_error}), flush=True)
        res = await client.read_resource("greeting://ada")
        print(json.dumps({"resource": res.contents[0].text}), flush=True)
        p = await client.get_prompt("review", {"code": "x = 1"})
        print(json.dumps({"prompt_messages": len(p.messages)}), flush=True)
        try:
            r = await client.call_tool("delete_everything", {"path": "/"})
            print(json.dumps({"denied_is_error": r.is_error}), flush=True)
        except Exception as e:  # the JSON-RPC error of a refused call
            print(json.dumps({"denied_error": str(e)}), flush=True)
        await pause()


asyncio.run(main())
