"""Every scene, in story order: name -> (module, one-line description, transcript time; "—" for a
scene that goes beyond the video, which has no section for it)."""
from __future__ import annotations

import importlib

SCENES: dict[str, tuple[str, str, str]] = {
    # part 1
    "ModularTable": ("intro", "the x + y table mod 5 filling in, values wrapping; a test set set aside", "2:39"),
    "OneHot": ("intro", "'1 + 2 =' as three one-hot columns, the answer's output switched on; then at p = 113", "3:54"),
    "GrokkingCurve": ("curve", "train and test accuracy over training; memorisation and grokking epochs labelled", "7:17"),
    "NeuronWaves": ("waves", "x = 0, y swept: seven wave neurons fill in as waves, then coloured by y", "11:10"),
    "NeuronLoops": ("waves", "7 x 7 neuron-pair scatter plots form loops; training rewound until they dissolve", "12:02"),
    "FourierPeak": ("waves", "DFT of a wave neuron's sweep: the peak at its key frequency, the fitted cosine over the dots", "13:58"),
    "EmbeddingProbe": ("probes", "an embedding dimension against a cosine; the sparse probe's weighted sum; sine; position 1", "14:37"),
    "Clock": ("clock", "a clock adding 11 + 2; the cos probe against the sin probe tracing a circle with a hand at w x", "16:59"),
    # beyond the video (no transcript time): the multiplication clock
    "Relabel": ("relabel", "(x · y) mod p looks like noise; rows and columns sorted by the discrete log, it is the addition table mod p − 1: the clock again", "—"),
    # part 2
    "NeuronSurface": ("surfaces", "a hidden neuron over (x, y): x sweep, y sweep, the surface; its 2D Fourier terms split off and added back", "19:17"),
    "Crest": ("surfaces", "an MLP-output unit's diagonal crests; overhead, the crest points on x + y = T and x + y = T + p", "21:24"),
    "TrigIdentity": ("trig", "cos·cos and sin·sin surfaces, weights +1 and −1 (the second flips), their sum the diagonal cos(w(x + y))", "23:19"),
    "LogitSurface": ("trig", "the logit of one output over (x, y): its maxima on x + y ≡ output, e.g. (7,0), (0,7), (3,4)", "25:26"),
    "TrainingStory": ("story", "training replayed: loss curves with a cursor, the probe's wave and a surface forming on the plateau", "26:46"),
    "ExcludedLoss": ("story", "accuracy to loss; train, test and excluded loss; the phases of training marked", "27:38"),
}


def scene_class(name: str):
    module, _, _ = SCENES[name]
    return getattr(importlib.import_module(f"grokking.scenes.{module}"), name)
