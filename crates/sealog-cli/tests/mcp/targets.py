"""The MCP server a test client connects to, from its arguments: `stdio CMD ARGS…` launches
CMD over stdio, `http URL` is Streamable HTTP and `sse URL` the older HTTP+SSE transport."""

from typing import Any

from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters


def target(argv: list[str]) -> Any:
    """What `mcp.Client` takes for the transport and address in `argv`."""
    if argv[0] == "stdio":
        return StdioServerParameters(command=argv[1], args=argv[2:])
    if argv[0] == "sse":
        return sse_client(argv[1])
    return argv[1]
