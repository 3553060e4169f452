//! What a read shows for attributes, as CVAT fills them: every attribute of the
//! object's label appears once; a missing value takes the attribute's default, and a
//! track's keyframe takes the value of the previous keyframe. Values of attributes the
//! label no longer has are left out.

use crate::model::{AttributeVal, Interval, LabeledData, Shape, Tag, Track};
use crate::validate::{LabelRule, Schema};

pub fn fill_defaults(data: &mut LabeledData, schema: &Schema) {
    data.tags.iter_mut().for_each(|t| t.fill_defaults(schema));
    data.shapes.iter_mut().for_each(|s| s.fill_defaults(schema));
    data.tracks.iter_mut().for_each(|t| t.fill_defaults(schema));
    data.intervals.iter_mut().for_each(|i| i.fill_defaults(schema));
}

/// An object that completes its own attribute values (one at a time, for reads that
/// stream object by object).
pub trait FillDefaults {
    fn fill_defaults(&mut self, schema: &Schema);
}

impl FillDefaults for Tag {
    fn fill_defaults(&mut self, schema: &Schema) {
        if let Some(label) = schema.label(self.label_id) {
            complete(&mut self.attributes, label, None, None);
        }
    }
}

impl FillDefaults for Interval {
    fn fill_defaults(&mut self, schema: &Schema) {
        if let Some(label) = schema.label(self.label_id) {
            complete(&mut self.attributes, label, None, None);
        }
    }
}

impl FillDefaults for Shape {
    fn fill_defaults(&mut self, schema: &Schema) {
        if let Some(label) = schema.label(self.label_id) {
            complete(&mut self.attributes, label, None, None);
        }
        self.elements.iter_mut().for_each(|e| e.fill_defaults(schema));
    }
}

impl FillDefaults for Track {
    fn fill_defaults(&mut self, schema: &Schema) {
        if let Some(label) = schema.label(self.label_id) {
            complete(&mut self.attributes, label, Some(false), None);
            let mut previous: Option<Vec<AttributeVal>> = None;
            for shape in &mut self.shapes {
                complete(&mut shape.attributes, label, Some(true), previous.as_deref());
                previous = Some(shape.attributes.clone());
            }
        }
        self.elements.iter_mut().for_each(|e| e.fill_defaults(schema));
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
