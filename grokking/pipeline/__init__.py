"""Runs the stages in order and knows what is out of date (`grokking all`, `grokking status`).

stamps.py  what each figure and scene was made from: the exact arrays and summary entries it
           read (recorded while it was drawn) and a hash of the code that drew it
make.py    the plan (train, extract, figures, scenes), status, and running what is stale
gallery.py media/<run>/index.html: every figure, a poster frame of every scene, the summary
"""
