//! What a read shows for attributes, as CVAT fills them: every attribute of the
//! object's label appears once; a missing value takes the attribute's default, and a
//! track's keyframe takes the value of the previous keyframe. Values of attributes the
//! label no longer has are left out.

use crate::model::{AttributeVal, LabeledData, Shape, Track};
use crate::validate::{LabelRule, Schema};

pub fn fill_defaults(data: &mut LabeledData, schema: &Schema) {
    for tag in &mut data.tags {
        if let Some(label) = schema.label(tag.label_id) {
            complete(&mut tag.attributes, label, None, None);
        }
    }
    for interval in &mut data.intervals {
        if let Some(label) = schema.label(interval.label_id) {
            complete(&mut interval.attributes, label, None, None);
        }
    }
    for shape in &mut data.shapes {
        fill_shape(shape, schema);
    }
    for track in &mut data.tracks {
        fill_track(track, schema);
    }
}

fn fill_shape(shape: &mut Shape, schema: &Schema) {
    if let Some(label) = schema.label(shape.label_id) {
        complete(&mut shape.attributes, label, None, None);
    }
    for element in &mut shape.elements {
        fill_shape(element, schema);
    }
}

fn fill_track(track: &mut Track, schema: &Schema) {
    if let Some(label) = schema.label(track.label_id) {
        complete(&mut track.attributes, label, Some(false), None);
        let mut previous: Option<Vec<AttributeVal>> = None;
        for shape in &mut track.shapes {
            complete(&mut shape.attributes, label, Some(true), previous.as_deref());
            previous = Some(shape.attributes.clone());
        }
    }
    for element in &mut track.elements {
        fill_track(element, schema);
    }
}

/// Keeps the values of `label`'s attributes (those of the given mutability) and adds
/// the missing ones from `inherited`, else their defaults, in the label's order.
fn complete(
    values: &mut Vec<AttributeVal>,
    label: &LabelRule,
    mutable: Option<bool>,
    inherited: Option<&[AttributeVal]>,
) {
    let wanted = label.attributes.iter().filter(|a| mutable.is_none_or(|m| a.mutable == m));
    let filled = wanted
        .map(|rule| {
            let given = values.iter().chain(inherited.unwrap_or_default()).find(|v| v.spec_id == rule.id);
            AttributeVal {
                spec_id: rule.id,
                value: given.map_or_else(|| rule.default_value.clone(), |v| v.value.clone()),
            }
        })
        .collect();
    *values = filled;
}
