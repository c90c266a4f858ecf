"""The model catalogs and the argument rules: each rule declared once, as schema and as check."""
