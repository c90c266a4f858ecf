"""What MCP clients see: the tools' results, Tasks, resources, the gallery view, refusals."""
