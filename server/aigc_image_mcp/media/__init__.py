"""Bytes of pictures, in and out: downloads, decoding, previews, the user's own pictures, saved files."""
