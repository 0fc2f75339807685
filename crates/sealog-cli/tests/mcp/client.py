"""Drives an MCP session with the official SDK and prints what came back, one JSON line per
call. `client.py stdio CMD ARGS…` launches CMD over stdio; `client.py http URL` connects over
Streamable HTTP. With `SEALOG_TEST_PAUSE=1` it prints `paused` and waits for a line on stdin
after the first call and again before it disconnects."""

import asyncio
import json
import os
import sys
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def pause() -> None:
    if os.environ.get("SEALOG_TEST_PAUSE"):
        print("paused", flush=True)
        await asyncio.to_thread(sys.stdin.readline)


async def main() -> None:
    target: Any
    if sys.argv[1] == "stdio":
        target = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:])
    else:
        target = sys.argv[2]
    async with Client(target) as client:
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
