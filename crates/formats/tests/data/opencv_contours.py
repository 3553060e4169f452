"""Makes opencv_contours.json: random masks and the borders OpenCV's
findContours(RETR_EXTERNAL, CHAIN_APPROX_TC89_KCOS) finds in them, which
crates/formats/src/contours.rs must reproduce. Run with a Python that has
opencv-python-headless and numpy (e.g. tests/compat/.venv-datumaro/bin/python)."""

import json
import random

import cv2
import numpy as np

random.seed(20261206)
cases = []
for n in range(240):
    if n < 120:
        # Noise: many small parts, holes, parts inside holes, touching the frame.
        width, height = random.randint(1, 14), random.randint(1, 14)
        mask = (np.random.default_rng(n).random((height, width)) < random.uniform(0.2, 0.8)).astype(np.uint8)
    else:
        # Blobs: filled ellipses and rectangles, some with a hole and a part inside it.
        width, height = random.randint(16, 48), random.randint(16, 48)
        mask = np.zeros((height, width), np.uint8)
        for _ in range(random.randint(1, 4)):
            centre = (random.randint(0, width - 1), random.randint(0, height - 1))
            axes = (random.randint(1, width // 2), random.randint(1, height // 2))
            if random.random() < 0.5:
                cv2.ellipse(mask, centre, axes, random.randint(0, 179), 0, 360, 1, -1)
            else:
                cv2.rectangle(mask, (centre[0] - axes[0], centre[1] - axes[1]), (centre[0] + axes[0], centre[1] + axes[1]), 1, -1)
            if random.random() < 0.4:
                cv2.ellipse(mask, centre, (max(1, axes[0] // 2), max(1, axes[1] // 2)), 0, 0, 360, 0, -1)
                cv2.circle(mask, centre, max(0, min(axes) // 5), 1, -1)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_TC89_KCOS)
    cases.append({
        "width": width, "height": height,
        "mask": "".join("1" if v else "0" for v in mask.flatten()),
        "contours": [c.reshape(-1, 2).tolist() for c in contours],
    })
with open("opencv_contours.json", "w") as out:
    json.dump(cases, out, separators=(",", ":"))
