"""How requests arrive: stdio, Streamable HTTP and the HTTP front door."""
