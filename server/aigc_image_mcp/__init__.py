"""aigc-image-mcp: an MCP server for Tencent Cloud VOD AIGC image generation through the QuickRouter relay."""
