"""The catalog: assets and their documents, validated and ingested all-or-nothing into one
folder (asset table, embedded chunks, index), and loaded back as an immutable `Catalog`."""
