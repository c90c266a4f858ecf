"""Images a hostile or broken upstream may hand back: decompression bombs and mutated files."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

_BIT_DEPTH_AND_COLOUR = {"1": (1, 0), "L": (8, 0), "RGBA": (8, 6)}
_BYTES_PER_PIXEL = {"1": 1 / 8, "L": 1, "RGBA": 4}


def bomb_png(width: int, height: int, mode: str = "1") -> bytes:
    """A valid PNG of `width`x`height` blank pixels that compresses to almost nothing, written row by row so that
    making it takes no more memory than one row (Pillow would need the whole image)."""
    depth, colour = _BIT_DEPTH_AND_COLOUR[mode]
    row = b"\x00" * (1 + -(-int(width * 8 * _BYTES_PER_PIXEL[mode]) // 8))
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", compressed) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def gradient_png() -> bytes:
    """A small PNG that is the same on every run (fake_relay's noise is random)."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").crop((96, 96, 160, 144)).convert("RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def mutations(original: bytes, count: int, seed: int) -> list[bytes]:
    """`count` copies of `original`, each with one to four bytes changed; most changes fall in the first 200 bytes,
    where a PNG's header and chunk lengths are, so that the parser (not only the pixel decoder) is exercised."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    copies: list[bytes] = []
    for _ in range(count):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            head = rng.random() < 0.7
            data[rng.randrange(min(len(data), 200) if head else len(data))] = rng.randrange(256)
        copies.append(bytes(data))
    return copies
