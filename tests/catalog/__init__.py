"""The model catalogs, the argument rules, the advertised schema and their agreement."""
