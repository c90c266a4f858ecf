"""What the tests share, and bench/ too: fake upstreams, hostile images, a real PostgreSQL, raw JSON-RPC, the
server over real HTTP."""
