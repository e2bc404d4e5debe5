# python/examples/ingest_images.py on a folder of real (generated) PNG and JPEG files.
import os
import subprocess
import sys

import numpy as np
import pytest

import serialake

Image = pytest.importorskip("PIL.Image", reason="python3-pil is not installed (scripts/deps --test)")
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "python", "examples", "ingest_images.py")


def test_ingest_images_example(tmp_path, path):
    # Kills: the example losing or mislabelling images, or storing other pixels.
    want = {}
    for cls, ext in (("cats", "png"), ("dogs", "png"), ("dogs/old", "jpg")):
        os.makedirs(tmp_path / "imgs" / cls, exist_ok=True)
        for i in range(4):
            px = np.full((5 + i, 7, 3), (i * 40, 10, 200), np.uint8)
            rel = f"{cls}/{i}.{ext}"
            Image.fromarray(px).save(tmp_path / "imgs" / rel)
            want[rel] = (cls, np.asarray(Image.open(tmp_path / "imgs" / rel).convert("RGB")))
    out = subprocess.run([sys.executable, EXAMPLE, str(tmp_path / "imgs"), path, "--threads", "4"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ds = serialake.open(path, read_only=True)
    assert len(ds) == len(want)
    classes = sorted({c for c, _ in want.values()})
    for i in range(len(ds)):
        rel = ds["path"][i].numpy()
        cls, px = want.pop(rel)
        assert int(ds["label"][i].numpy()) == classes.index(cls)
        assert np.array_equal(ds["image"][i].numpy(), px)
    assert not want
