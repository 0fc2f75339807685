"""An MCP server built with the official SDK, for the proxy's tests: two tools, one that
fails, a resource and a prompt. `server.py` serves stdio; `server.py http|http-json PORT`
Streamable HTTP; `server.py sse|sse-absolute PORT` the older HTTP+SSE transport, whose
`endpoint` event names a path, or with `sse-absolute` an absolute URL as some other SDKs'
servers announce it."""

import sys
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

mcp = MCPServer("sealog-test-server")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@mcp.tool()
def delete_everything(path: str) -> str:
    """A tool the proxy's policy denies."""
    return f"deleted {path}"


@mcp.tool()
def fail(why: str) -> str:
    """Always fails."""
    raise ToolError(f"failed because {why}")


@mcp.resource("greeting://{name}")
def greeting(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}!"


@mcp.prompt()
def review(code: str) -> str:
    """Ask for a review."""
    return f"Please review: {code}"


def absolute_endpoint(app: Any, origin: bytes) -> Any:
    """`app` announcing its message endpoint as an absolute URL on `origin`."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                message["body"] = body.replace(b"data: /messages/", b"data: " + origin + b"/messages/", 1)
            await send(message)

        await app(scope, receive, rewrite)

    return wrapped


def serve_sse(port: int, absolute: bool) -> None:
    import uvicorn

    app = mcp.sse_app()
    if absolute:
        app = absolute_endpoint(app, f"http://127.0.0.1:{port}".encode())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in ("sse", "sse-absolute"):
        serve_sse(int(sys.argv[2]), sys.argv[1] == "sse-absolute")
    elif len(sys.argv) > 2 and sys.argv[1] in ("http", "http-json"):
        # "http" answers each POST with an SSE stream, "http-json" with one JSON body.
        mcp.run("streamable-http", port=int(sys.argv[2]), json_response=sys.argv[1] == "http-json")
    else:
        mcp.run()
