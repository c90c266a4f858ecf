"""Launcher for the MCP bundle: runs the server on stdio."""

from aigc_image_mcp.__main__ import main

main()
