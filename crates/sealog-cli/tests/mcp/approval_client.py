"""Makes three calls of a tool the proxy holds for approval (targets.py): while the
first waits, another tool call goes through; then each held call's outcome, one JSON line each."""

import asyncio
import json
import sys
from typing import Any

from mcp import Client
from targets import target


async def held(client: Client, path: str) -> dict[str, Any]:
    try:
        r = await client.call_tool("delete_everything", {"path": path})
        return {"result": r.structured_content, "is_error": r.is_error}
    except Exception as e:  # the JSON-RPC error of a rejected or timed-out call
        return {"error": str(e)}


async def main() -> None:
    async with Client(target(sys.argv[1:])) as client:
        first = asyncio.create_task(held(client, "/approved"))
        await asyncio.sleep(0.2)
        r = await client.call_tool("add", {"a": 1, "b": 2})
        print(json.dumps({"add_while_held": r.structured_content}), flush=True)
        print(json.dumps(await first), flush=True)
        print(json.dumps(await held(client, "/rejected")), flush=True)
        print(json.dumps(await held(client, "/timed-out")), flush=True)


asyncio.run(main())
