"""An interaction function for the agent tests: the box around the positive points, as a
polygon; no model."""

import cvat_sdk.auto_annotation as cvataa

spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_neg_points=0)


def detect(context, image, prompts):
    xs = [x for x, _ in prompts.pos_points]
    ys = [y for _, y in prompts.pos_points]
    left, top, right, bottom = min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1
    return [cvataa.InteractionResultShape(type="polygon", points=[left, top, right, top, right, bottom, left, bottom])]
