"""What MCP clients see: the tools, their results, Tasks, resources, the gallery view, roots."""
