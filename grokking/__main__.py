"""`python -m grokking ...`: the same command line as `grokking ...`."""
from grokking.cli import main

main()
