"""Makes opencv_ellipses.json: random ellipses (CVAT's points: centre, then right and top
of the axes; rotation in degrees) and the pixels CVAT's EllipsesToMasks sets for them —
centre and axes rounded with Python's round, then OpenCV's filled `ellipse` — which
crates/formats/src/raster.rs must reproduce. Run with a Python that has
opencv-python-headless and numpy (e.g. tests/compat/.venv-datumaro/bin/python)."""

import json
import random

import cv2
import numpy as np

random.seed(6122027)
cases = []
for n in range(300):
    width, height = random.randint(4, 80), random.randint(4, 60)
    cx, cy = round(random.uniform(-10, width + 10), 2), round(random.uniform(-10, height + 10), 2)
    rx, ry = random.choice([random.uniform(0, 3), random.uniform(0, 20), random.uniform(0, 60)]), random.uniform(0, 40)
    rotation = random.choice([0.0, round(random.uniform(0, 360), 1), float(random.choice([45, 90, 135, 180, 270]))])
    points = [cx, cy, round(cx + rx, 2), round(cy - ry, 2)]
    mask = np.zeros((height, width), np.uint8)
    centre = (round(points[0]), round(points[1]))
    axes = (round(points[2] - points[0]), round(points[1] - points[3]))
    cv2.ellipse(mask, centre, axes, rotation, 0, 360, 255, thickness=-1)
    cases.append({"width": width, "height": height, "points": points, "rotation": rotation,
                  "mask": "".join("1" if v else "0" for v in mask.flatten())})
with open("opencv_ellipses.json", "w") as out:
    json.dump(cases, out, separators=(",", ":"))
