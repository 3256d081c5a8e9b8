#!/usr/bin/env python
"""`python render.py ...` from a clone: the same command line as `grokking ...`."""
from grokking.cli import main

if __name__ == "__main__":
    main()
