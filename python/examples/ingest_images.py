#!/usr/bin/env python3
"""Decodes a folder of images into a serialake dataset with a pool of threads.

    ingest_images.py IMAGES_DIR DATASET [--threads 8]

Each image becomes one row: `image` (uint8, height x width x 3, ragged),
`label` (the index of its subfolder's name, sorted, as a class label) and `path`
(text). Decoding (Pillow) and appending both release the GIL, so the threads
overlap; the dataset's writer orders the rows. Trains nothing.
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

import serialake

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def find_images(root):
    files = []
    for d, _, names in os.walk(root):
        files += [os.path.join(d, n) for n in sorted(names) if n.lower().endswith(EXTENSIONS)]
    return sorted(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images")
    ap.add_argument("dataset")
    ap.add_argument("--threads", type=int, default=8)
    a = ap.parse_args()
    files = find_images(a.images)
    classes = sorted({os.path.relpath(os.path.dirname(f), a.images) for f in files})
    label_of = {c: i for i, c in enumerate(classes)}

    with serialake.open(a.dataset, create=True) as ds:
        if "image" not in ds:
            ds.create_tensor("image", htype="image", dtype="uint8")
            ds.create_tensor("label", htype="class_label", dtype="int64", shape=())
            ds.create_tensor("path", htype="text")

        def ingest(f):
            with Image.open(f) as im:
                pixels = np.asarray(im.convert("RGB"))
            ds.append({"image": pixels, "label": label_of[os.path.relpath(os.path.dirname(f), a.images)],
                       "path": os.path.relpath(f, a.images)})

        with ThreadPoolExecutor(a.threads) as pool:
            list(pool.map(ingest, files))  # re-raises the first failure
        info = ds.commit(f"ingested {len(files)} images from {a.images}")
    print(f"{len(files)} images in {len(classes)} classes -> {a.dataset} (version {info['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
