"""An MCP server built with the official SDK, for the proxy's tests: two tools, one that
fails, a resource and a prompt. `server.py` serves stdio; `server.py http|http-json PORT` Streamable HTTP."""

import sys

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


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in ("http", "http-json"):
        # "http" answers each POST with an SSE stream, "http-json" with one JSON body.
        mcp.run("streamable-http", port=int(sys.argv[2]), json_response=sys.argv[1] == "http-json")
    else:
        mcp.run()
