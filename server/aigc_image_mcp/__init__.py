"""aigc-image-mcp: an MCP server for Tencent Cloud VOD AIGC image generation, through the QuickRouter relay or
Tencent Cloud's own API."""

# The one place the version lives: the build (hatch), the server and the bundle all read it from here.
__version__ = "0.1.0"
NAME = "aigc-image-mcp"
