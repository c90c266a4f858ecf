"""The world around the server: packaging, the bundle, the registry, the Inspector, conformance, a browser, the
fuzzer."""
