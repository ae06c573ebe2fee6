"""The engine's core: catalog, embeddings, index, playbook prior, ranking pipeline, learning.

Imports `features`; never `service`.
"""
