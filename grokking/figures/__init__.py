"""Publication figures from assets/<run>/ (matplotlib, Agg; imageio for the animations; never torch).

    grokking figures --run canonical            # every figure -> media/figures/canonical/
    grokking figures --list                     # their names
    grokking figures --only crest --format png

style.py (matplotlib-free at import) holds the palette the Manim scenes share; static.py draws
figures 1-9, animations.py figure 10; build.py saves them; cli.py is the command.
"""
