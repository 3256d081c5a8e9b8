"""Grokking, explained from real data: a one-layer transformer learns (x + y) mod p, memorises,
then generalises; this package trains it, extracts the mechanism, and renders what it learned.

The stages, in the order data flows (each imports only those before it):

    common/      what every stage shares: paths, errors, the assets contract, atomic I/O, palette
    training/    the task, the model, the loop -> runs/<run>/ (a dense checkpoint history)
    extraction/  a history -> assets/<run>/ (Fourier analysis, probes, progress measures, story check)
    figures/     assets -> publication figures (matplotlib; never torch)
    scenes/      assets -> Manim scenes, one file per part of the story (never torch)
    interop/     TransformerLens out and in, foreign histories, the notebook API
    lab/         sweeps over seeds and recipes, their reports, the race
    pipeline/    `grokking all` / `status`: what is stale and why; explorer, film, gallery
    cli.py       the `grokking` command over every stage
"""
