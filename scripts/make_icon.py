"""Draws icon.png, the bundle's 512x512 icon: a picture frame with a sun, hills and a spark of generation.

Run once when the icon changes: `uv run --with pillow python scripts/make_icon.py`. The result is committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 512
SCALE = 4  # draw large, then downsample: smooth edges without an anti-aliasing library
OUT = Path(__file__).resolve().parent.parent / "icon.png"


def _gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return image


def _spark(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: str) -> None:
    w = r * 0.28
    draw.polygon(
        [
            (cx, cy - r),
            (cx + w, cy - w),
            (cx + r, cy),
            (cx + w, cy + w),
            (cx, cy + r),
            (cx - w, cy + w),
            (cx - r, cy),
            (cx - w, cy - w),
        ],
        fill=fill,
    )


def main() -> None:
    s = SIZE * SCALE
    background = _gradient(s, (91, 59, 214), (22, 150, 196))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, s - 1, s - 1], radius=s * 0.22, fill=255)
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    icon.paste(background, (0, 0), mask)

    draw = ImageDraw.Draw(icon)
    u = s / 512
    frame = [96 * u, 128 * u, 416 * u, 400 * u]
    draw.rounded_rectangle(frame, radius=28 * u, fill=(255, 255, 255, 235))
    inner = [120 * u, 152 * u, 392 * u, 376 * u]
    draw.rounded_rectangle(inner, radius=14 * u, fill=(222, 236, 255))
    draw.ellipse([300 * u, 178 * u, 356 * u, 234 * u], fill=(255, 184, 28))
    draw.polygon(
        [(120 * u, 376 * u), (206 * u, 250 * u), (270 * u, 330 * u), (300 * u, 296 * u), (392 * u, 376 * u)],
        fill=(46, 160, 110),
    )
    _spark(draw, 404 * u, 118 * u, 62 * u, "#FFFFFF")
    _spark(draw, 456 * u, 196 * u, 26 * u, "#FFFFFF")

    icon.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(OUT, optimize=True)


if __name__ == "__main__":
    main()
