// The TypeScript SDK 2.x client (@modelcontextprotocol/client) signing in to our server with its own OAuth support,
// as tests/transport/test_oauth_flow.py starts it:
//   node oauth.mjs '{"url": ..., "redirectUri": ..., "calls": [{"name", "arguments"}, ...]}'
// The transport's auth provider keeps the registration, tokens, PKCE verifier and discovery state in memory. When the SDK sends the
// person to the authorization URL, this prints {"authorize": url} and reads the callback URL (where the provider
// sent the browser back) from stdin: the test signs the person in. Then it finishes the authorization, connects
// again, lists the tools and makes the calls, and prints one line: {"tools", "calls", "accessToken"}.
import { createInterface } from 'node:readline';

import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';

const spec = JSON.parse(process.argv[2]);
const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const kept = {};
let callback;
const authProvider = {
  get redirectUrl() {
    return spec.redirectUri;
  },
  get clientMetadata() {
    return {
      client_name: 'aigc-image-mcp tests (TypeScript SDK)',
      redirect_uris: [spec.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  clientInformation: () => kept.client,
  saveClientInformation: (client) => {
    kept.client = client;
  },
  tokens: () => kept.tokens,
  saveTokens: (tokens) => {
    kept.tokens = tokens;
  },
  saveCodeVerifier: (verifier) => {
    kept.verifier = verifier;
  },
  codeVerifier: () => kept.verifier,
  // Which authorization server the flow started with, checked again when the code comes back (SEP-2352).
  saveDiscoveryState: (state) => {
    kept.discovery = state;
  },
  discoveryState: () => kept.discovery,
  async redirectToAuthorization(url) {
    say({ authorize: url.href });
    callback = new URL((await answers.next()).value);
  },
};

async function connect() {
  const client = new Client({ name: 'aigc-image-mcp-tests-oauth', version: '0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(spec.url), { authProvider }));
  return client;
}

let client;
try {
  client = await connect();
} catch (error) {
  if (!(error instanceof UnauthorizedError) || callback === undefined) throw error;
  const transport = new StreamableHTTPClientTransport(new URL(spec.url), { authProvider });
  await transport.finishAuth(callback.searchParams);
  client = await connect();
}
const tools = await client.listTools();
const calls = [];
for (const call of spec.calls) {
  calls.push({ result: await client.callTool({ name: call.name, arguments: call.arguments }) });
}
await client.close();
say({ tools: tools.tools.map((tool) => tool.name), calls, accessToken: kept.tokens?.access_token });
process.exit(0);
