"""A detection function for the agent tests: fixed boxes, no model. `car` exists in
the test task; `dog` does not, so the server's default mapping leaves it out."""

import cvat_sdk.auto_annotation as cvataa
from cvat_sdk import models

spec = cvataa.DetectionFunctionSpec(
    labels=[
        cvataa.label_spec("car", 0, type="rectangle", attributes=[cvataa.text_attribute_spec("model", 0)]),
        cvataa.label_spec("dog", 1, type="rectangle"),
    ],
)


def detect(context, image):
    width, height = image.size
    return [
        cvataa.rectangle(
            0, [1, 2, width - 1, height - 2], attributes=[models.AttributeValRequest(spec_id=0, value="auto")]
        ),
        cvataa.rectangle(1, [0, 0, 5, 5]),
    ]
