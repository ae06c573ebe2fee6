"""The `recommender` command line: the only package that imports both the engine
(`recommender`) and the HTTP service (`service`).

    recommender [--workspace DIR] [--models DIR] COMMAND ...   # or: python -m cli
"""

from cli.main import main

__all__ = ["main"]
