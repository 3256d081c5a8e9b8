"""pipeline/stills.py: planted still stretches are found where they are, as long as they are."""
from __future__ import annotations

import numpy as np
import pytest

from grokking.pipeline.stills import measure, still_stretches, thumbnail


def _frames(plan, size=32, seed=0):
    """plan: [(frames, moving?)]: a square that moves one pixel a frame, or stays put (with up to
    3 grey levels of noise, as an encoder leaves on a still frame)."""
    rng, x, out = np.random.default_rng(seed), 0, []
    for n, moving in plan:
        for _ in range(n):
            f = np.full((size, size), 20, np.uint8)
            f[8:16, x % (size - 8): x % (size - 8) + 8] = 200
            out.append(np.clip(f.astype(int) + rng.integers(0, 4, f.shape), 0, 255).astype(np.uint8))
            x += moving
    return out


def test_planted_stills_are_found_exactly():
    fps = 60
    frames = [thumbnail(f) for f in _frames([(10, True), (40, False), (5, True), (20, False), (3, True), (31, False)])]
    # a move shows on the frame after it: the first still run is frames 10 … 50 (the next plan's
    # first frame has not moved yet), the second 55 … 75 (21 frames: not over 0.5 s), the third 78 … 108
    got = still_stretches(frames, fps, longer=0.5)
    assert [(round(s.start * fps), round(s.length * fps)) for s in got] == [(10, 41), (78, 31)]
    assert got[0].frame == 10
    assert len(still_stretches(frames, fps, longer=0.6)) == 1          # 31 frames is not over 0.6 s
    assert still_stretches([thumbnail(f) for f in _frames([(30, True)])], fps) == []


def test_flicker_stays_still_and_a_slow_drift_does_not():
    """An encoder's flicker of 6 levels, back and forth, is still; a fade of 1 level a frame (never
    more than 10 from one frame to the next) is motion once it has drifted past 10."""
    fps, base = 60, np.full((8, 8), 50.0)
    flicker = [base + (6.0 if (i // 2) % 2 else 0.0) * (np.arange(64).reshape(8, 8) == 5) for i in range(60)]
    assert [(s.frame, round(s.length * fps)) for s in still_stretches(flicker, fps)] == [(0, 60)]
    fade = [base + i for i in range(60)]
    got = still_stretches(fade, fps, longer=0.1)
    assert got and all(s.length * fps <= 11 for s in got), got
    assert still_stretches(fade, fps) == []


def test_a_still_in_an_encoded_video_is_measured(tmp_path):
    av = pytest.importorskip("av")
    frames = _frames([(15, True), (30, False), (15, True)], size=64)
    path = tmp_path / "planted.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(np.repeat(f[..., None], 3, 2), format="rgb24")))
        c.mux(s.encode())
    length, stills = measure(path, longer=0.5)
    assert abs(length - 2.0) < 1e-6
    # frames 15 … 45 hold the square at x = 15 (frame 45, the first of the last moves, has not moved)
    assert len(stills) == 1 and abs(stills[0].start - 15 / 30) < 1.01 / 30 and abs(stills[0].length - 31 / 30) < 2.01 / 30
