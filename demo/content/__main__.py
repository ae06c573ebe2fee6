"""`python -m demo.content`: (re)write the committed demo data (see demo.content.writer)."""

from demo.content.writer import main

if __name__ == "__main__":
    raise SystemExit(main())
