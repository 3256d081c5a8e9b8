"""Every scene, in story order: name -> (module, one-line description, transcript time)."""
from __future__ import annotations

import importlib

SCENES: dict[str, tuple[str, str, str]] = {
    # part 1
    "ModularTable": ("intro", "the x + y table mod 5 filling in, values wrapping; a test set set aside", "2:39"),
    "OneHot": ("intro", "'1 + 2 =' as three one-hot columns, the answer's output switched on; then at p = 113", "3:54"),
    "GrokkingCurve": ("grokking", "train and test accuracy over training; memorisation and grokking epochs labelled", "7:17"),
    "NeuronWaves": ("waves", "x = 0, y swept: seven wave neurons fill in as waves, then coloured by y", "11:10"),
    "NeuronLoops": ("waves", "7 x 7 neuron-pair scatter plots form loops; training rewound until they dissolve", "12:02"),
    "FourierPeak": ("waves", "DFT of a wave neuron's sweep: the peak at its key frequency, the fitted cosine over the dots", "13:58"),
    "EmbeddingProbe": ("probes", "an embedding dimension against a cosine; the sparse probe's weighted sum; sine; position 1", "14:37"),
    "Clock": ("clock", "a clock adding 11 + 2; the cos probe against the sin probe tracing a circle with a hand at w x", "16:59"),
}


def scene_class(name: str):
    module, _, _ = SCENES[name]
    return getattr(importlib.import_module(f"scenes.{module}"), name)
