"""Embedding: text embedders (multilingual e5 by default, sentence-transformers on request),
the int8 e5 engine, the content-hash vector cache, and the FAISS index of catalog chunks."""
