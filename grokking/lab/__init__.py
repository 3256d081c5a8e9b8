"""The grokking lab: many runs at once and what they say together.

    sweep.py           a grid of configs trained as ordinary runs (batched, a process pool)
    cluster.py         the same on a Ray cluster (--ray; Ray is an extra)
    report.py          a sweep's table and figures; the race of several sweeps' recipes
    sweep_figures.py   the sweep report's figures        race_figure.py   the race's figure
    recipe_table.py    seed_table.py    extend_ungrokked.py    (python -m grokking.lab.NAME --help)

The sweep folder's format (grid, point names, manifest) is training/grid.py: a history names its
sweep's command from there.
"""
