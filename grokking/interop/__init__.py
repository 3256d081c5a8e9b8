"""Interop with the tools people already use: TransformerLens out (export, a ready
HookedTransformer) and in (import a history trained by the TransformerLens Grokking demo or the
paper's code), and a small Python API for notebooks.

    from grokking.interop import open_run
    r = open_run("quick")                 # runs/quick and assets/quick
    r.metrics["test_acc"], r.checkpoint(1200)["W_E"], r.summary["key_frequencies"], r.curves

    interop/transformer_lens.py   state-dict mapping, export, HookedTransformer helper
    interop/imports.py            foreign checkpoint histories -> runs/<run>/
    interop/notebook.py           open_run: a run and its assets as arrays
"""
from .errors import InteropError
from .notebook import RunView, open_run

__all__ = ["InteropError", "RunView", "open_run"]
