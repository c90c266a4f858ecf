// A real OpenID provider for the tests: the certified `oidc-provider` package, configured for the MCP authorization
// flow. It listens on 127.0.0.1 on a free port, its issuer http://127.0.0.1:<port>, and prints one JSON line
// {"issuer": ...} on stdout once it accepts requests. Configuration comes as one JSON argument:
//   scopes: the scopes a resource server accepts (granted on consent when requested),
//   alg: the signing algorithm of the JWT access tokens (RS256, PS256, ES256 or EdDSA),
//   accessTokenTtl: their lifetime in seconds.
// Open dynamic client registration, PKCE (S256) required for every client, the authorization code grant, resource
// indicators (RFC 8707) whose tokens are JWTs with aud = the requested resource, refresh tokens for clients that
// registered the grant, and the package's development login and consent pages (any login, any password).
// Two routes of its own, for the tests: POST /test/rotate signs with a new key from then on, keeping the previous
// one in the JWKS (as a provider rotating its keys does); GET /test/stats counts the JWKS fetches.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = { scopes: ['mcp'], alg: 'RS256', accessTokenTtl: 600, ...JSON.parse(process.argv[2] ?? '{}') };
const cookieKeys = [randomBytes(32).toString('hex')];

function signingKey(alg) {
  const kinds = {
    RS256: ['rsa', { modulusLength: 2048 }],
    PS256: ['rsa', { modulusLength: 2048 }],
    ES256: ['ec', { namedCurve: 'P-256' }],
    EdDSA: ['ed25519', {}],
  };
  if (!(alg in kinds)) throw new Error(`alg must be one of ${Object.keys(kinds).join(', ')}, not ${alg}`);
  const [type, options] = kinds[alg];
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg, use: 'sig' };
}

// The provider over `keys`, the first of which signs. Its clients, grants and sessions live in the package's
// in-memory adapter of the first instance, which later ones use too: a rotation (a new instance) keeps them.
let first;
function provider(issuer, keys) {
  const made = new Provider(issuer, {
    adapter: first && ((model) => first[model].adapter),
    jwks: { keys },
    // Known here too, so that a client may name them in its registration's `scope` (the MCP SDK's client does).
    scopes: ['openid', 'offline_access', ...config.scopes],
    cookies: { keys: cookieKeys },
    // Any login names a person: the account is its subject, with no other claims.
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: config.alg,
    },
    pkce: { required: () => true },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: config.accessTokenTtl,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      RefreshToken: 3600,
      Session: 3600,
    },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          audience: resource,
          scope: config.scopes.join(' '),
          accessTokenTTL: config.accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: config.alg, kid: keys[0].kid } },
        }),
      },
    },
  });
  first ??= made;
  return made.callback();
}

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  let keys = [signingKey(config.alg)];
  let handle = provider(issuer, keys);
  let jwksFetches = 0;
  server.on('request', (req, res) => {
    const route = `${req.method} ${new URL(req.url, issuer).pathname}`;
    if (route === 'POST /test/rotate') {
      keys = [signingKey(config.alg), keys[0]];
      handle = provider(issuer, keys);
      return json(res, { kid: keys[0].kid });
    }
    if (route === 'GET /test/stats') return json(res, { jwksFetches, kids: keys.map((key) => key.kid) });
    if (route === 'GET /jwks') jwksFetches += 1;
    return handle(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
