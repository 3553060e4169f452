"""Makes segmentation_instances.json: random frames of polygons, boxes (some rotated)
and masks with groups and z orders, and the class and instance index masks CVAT's
`Segmentation mask 1.1` exporter paints for them — its transforms (rotated boxes to
polygons, appended last; polygons_to_masks and boxes_to_masks, which rasterise with
pycocotools; merge_instance_segments) and datumaro's CompiledMask, run with datumaro
and pycocotools from PyPI (e.g. tests/compat/.venv-datumaro/bin/python).
crates/formats/src/voc.rs must paint the same.

Polygons and boxes are rasterised here as CVAT's datumaro fork does, from float64
points (upstream datumaro 1.13 keeps shape points as float32, CVAT's fork does not)."""

import json
import math
import random
from itertools import chain

import numpy as np
import datumaro as dm
from datumaro.components.annotation import CompiledMask
from datumaro.components.media import Image
from datumaro.plugins.transforms import MergeInstanceSegments
from pycocotools import mask as mask_utils

random.seed(6122026)


def rotated_polygon(box, degrees):
    x0, y0, x1, y1 = box
    angle = math.radians(degrees)
    cx, cy = x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2
    turn = lambda x, y: (cx + math.cos(angle) * (x - cx) - math.sin(angle) * (y - cy),
                         cy + math.sin(angle) * (x - cx) + math.cos(angle) * (y - cy))
    return list(chain.from_iterable(turn(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))


def rasterised(points, width, height, common):
    """polygons_to_masks / boxes_to_masks: pycocotools' rasteriser on the frame."""
    return dm.RleMask(rle=mask_utils.frPyObjects([points], height, width)[0], **common)


cases = []
for n in range(150):
    width, height = random.randint(8, 40), random.randint(8, 30)
    shapes, annotations, rotated = [], [], []
    for _ in range(random.randint(1, 6)):
        kind = random.choice(["polygon", "rectangle", "mask"])
        label, group, z = random.randint(1, 3), random.choice([0, 0, 1, 2]), random.randint(0, 2)
        common = dict(label=label, group=group, z_order=z)
        if kind == "polygon":
            points = [round(random.uniform(-2, width + 2), 2) if i % 2 == 0 else round(random.uniform(-2, height + 2), 2)
                      for i in range(2 * random.randint(3, 6))]
            shapes.append({"type": "polygon", "points": points, "rotation": 0.0, **common})
            annotations.append(rasterised(points, width, height, common))
        elif kind == "rectangle":
            x0, y0 = random.uniform(-2, width), random.uniform(-2, height)
            box = [round(x0, 2), round(y0, 2), round(x0 + random.uniform(0, width / 2), 2),
                   round(y0 + random.uniform(0, height / 2), 2)]
            rotation = random.choice([0.0, 0.0, 0.0, round(random.uniform(1, 359), 1)])
            shapes.append({"type": "rectangle", "points": box, "rotation": rotation, **common})
            if rotation:
                rotated.append(rasterised(rotated_polygon(box, rotation), width, height, common))
            else:
                corners = [box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3]]
                annotations.append(rasterised(corners, width, height, common))
        else:
            left, top = random.randint(0, width - 1), random.randint(0, height - 1)
            right, bottom = random.randint(left, width - 1), random.randint(top, height - 1)
            tight = (np.random.default_rng(n * 31 + len(shapes)).random((bottom - top + 1, right - left + 1)) < 0.7)
            tight[0, 0] = True
            image = np.zeros((height, width), np.uint8)
            image[top:bottom + 1, left:right + 1] = tight
            flat = tight.astype(np.uint8).reshape(-1)
            runs, current, count = [], 0, 0
            for v in flat:
                if v == current:
                    count += 1
                else:
                    runs.append(count)
                    current, count = v, 1
            runs.append(count)
            shapes.append({"type": "mask", "points": runs + [left, top, right, bottom], "rotation": 0.0, **common})
            annotations.append(dm.Mask(image, **common))
    item = dm.DatasetItem(id="x", media=Image.from_numpy(data=np.zeros((height, width, 3), np.uint8)),
                          annotations=annotations + rotated)
    merge = MergeInstanceSegments.__new__(MergeInstanceSegments)
    merge._include_polygons = False
    item = merge.transform_item(item)
    masks = [a for a in item.annotations if a.type == dm.AnnotationType.mask]
    compiled = CompiledMask.from_instance_masks(masks, instance_labels=[m.label for m in masks])
    cases.append({"width": width, "height": height, "shapes": shapes,
                  "classes": compiled.class_mask.astype(int).reshape(-1).tolist(),
                  "instances": compiled.instance_mask.astype(int).reshape(-1).tolist()})
with open("segmentation_instances.json", "w") as out:
    json.dump(cases, out, separators=(",", ":"))
