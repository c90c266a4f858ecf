"""Downloads, decoding bounds, the user's own pictures, save_as, hostile images."""
