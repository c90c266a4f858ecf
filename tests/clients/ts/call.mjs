// One run of a TypeScript MCP client against our server, as tests/clients/test_typescript.py starts it:
//   node call.mjs '<spec as JSON>'
// spec: {"package": "sdk" | "client", "transport": "stdio" | "http", "command", "args", "env", "url", "calls": [...]}
// with each call {"name", "arguments"}. The client lists the tools first, so that it checks every structuredContent
// against the tool's outputSchema, as both packages do. Prints one JSON line: the tools' names and, per call,
// {"result": CallToolResult} or {"error": message} when the client threw (a failed outputSchema check throws).

const spec = JSON.parse(process.argv[2]);

async function load(which) {
  if (which === "sdk") {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    return { Client, StdioClientTransport, StreamableHTTPClientTransport };
  }
  const { Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
  const { StdioClientTransport } = await import("@modelcontextprotocol/client/stdio");
  return { Client, StdioClientTransport, StreamableHTTPClientTransport };
}

const { Client, StdioClientTransport, StreamableHTTPClientTransport } = await load(spec.package);
const transport =
  spec.transport === "stdio"
    ? new StdioClientTransport({ command: spec.command, args: spec.args, env: spec.env, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(spec.url));
const client = new Client({ name: `aigc-image-mcp-tests-${spec.package}`, version: "0" });
await client.connect(transport);
const tools = await client.listTools();
const calls = [];
for (const call of spec.calls) {
  try {
    calls.push({ result: await client.callTool({ name: call.name, arguments: call.arguments }) });
  } catch (error) {
    calls.push({ error: String(error?.message ?? error) });
  }
}
await client.close();
process.stdout.write(JSON.stringify({ tools: tools.tools.map((tool) => tool.name), calls }) + "\n");
