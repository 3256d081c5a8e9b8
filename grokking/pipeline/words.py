"""How the pipeline's texts (the film's cards, the gallery's rows) name a run's task and the
coordinates its answer adds in (common/assets.py Additive). Pure functions of the assets."""
from __future__ import annotations

import re


def task_name(task: dict) -> str:
    """The run's task as every text names it (scenes/theme.py): "(x · y) mod 113"."""
    from grokking.scenes.theme import task_name as named
    return named(task) if task.get("p") is not None else "?"


def group_lines(a) -> tuple[str, list[str]]:
    """What the opening card says of the run's coordinates (common/assets.py Additive): where the
    key frequencies live (" over log₃ x, in Z_112" on a mul run; "" on add, whose are over x mod p)
    and the lines saying how the op is read (the discrete log and the pairs with a zero set apart;
    a pow's relabelled axes; a pow with no grid and so no surfaces)."""
    add = a.additive
    if not add.found:
        return "", []
    n, op = a.n, add.op or (a.summary.get("task") or {}).get("op", "add")
    if op in ("mul", "div") and add.generator is not None:
        g = add.generator
        sign = "·" if op == "mul" else "/"
        law = f"x {sign} y = {g}^({add.sum_label})"
        zp = add.zero_pairs or {}
        which = "x = 0" if op == "div" else "a zero"
        lines = [f"read through the discrete log base {g}: {law}, so the model adds logs in Z_{n} (mod {n})"]
        if zp.get("pairs"):
            lines.append(f"the {zp['pairs']} pairs with {which} (answer 0) lie outside the group, measured apart: "
                         f"accuracy {zp['accuracy']:.0%}")
        return f" over {add.x_label}, in Z_{n}", lines
    if add.grid is False:
        return (f" over {add.sum_label}, in Z_{n}",
                [f"u = {add.x_label}, v = {add.y_label} is no grid ({'; '.join(_collisions(add))}): "
                 "the scenes over a grid are left out"])
    if add.relabelled and add.x_label != "x":
        return f" over {add.x_label}, in Z_{n}", [f"the axes relabelled: u = {add.x_label}, v = {add.y_label}, "
                                                  f"the answer (u + v) mod {n}"]
    return "", []


def _collisions(add) -> list[str]:
    """A pow's colliding powers, as extraction's coordinates sentence names them."""
    return re.findall(r"\S+ ↦ \S+ is \d+-to-1", add.coordinates or "") or ["its powers collide"]
