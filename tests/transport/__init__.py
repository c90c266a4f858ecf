"""stdio and Streamable HTTP: the front door, connections, rate limits."""
