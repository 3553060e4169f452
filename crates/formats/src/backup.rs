//! The documents of a task backup (`annotations.json`, cvat-semantics §9) back into the
//! API's form: label names become the restored task's label ids (sublabels looked up
//! under their skeleton), attribute names become spec ids (attributes the label does
//! not have are dropped, as imports do).

use crate::import::ImportError;
use crate::source::LabelInfo;
use serde_json::{Map, Value};

/// One document per job, in job order, with ids in place of names.
pub fn documents_with_ids(documents: Vec<Value>, labels: &[LabelInfo]) -> Result<Vec<Value>, ImportError> {
    documents
        .into_iter()
        .map(|mut document| {
            let map = document
                .as_object_mut()
                .ok_or_else(|| ImportError::invalid("annotations.json: a job's document is not an object"))?;
            for list in ["tags", "shapes", "tracks"] {
                for object in map.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                    with_ids(object, None, labels)?;
                }
            }
            map.remove("intervals");
            Ok(document)
        })
        .collect()
}

fn with_ids(object: &mut Value, parent: Option<&LabelInfo>, labels: &[LabelInfo]) -> Result<(), ImportError> {
    let map = object.as_object_mut().ok_or_else(|| ImportError::invalid("annotations.json: an object is not one"))?;
    let name = map.remove("label").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let label = labels
        .iter()
        .find(|l| l.name == name && l.parent.as_deref() == parent.map(|p| p.name.as_str()))
        .ok_or_else(|| ImportError::invalid(format!("annotations.json: label '{name}' is not in task.json")))?;
    map.insert("label_id".into(), Value::from(label.id));
    attribute_ids(map, label);
    for keyframe in map.get_mut("shapes").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(keyframe) = keyframe.as_object_mut() {
            attribute_ids(keyframe, label);
        }
    }
    for element in map.get_mut("elements").and_then(Value::as_array_mut).into_iter().flatten() {
        with_ids(element, Some(label), labels)?;
    }
    Ok(())
}

/// `[{"name", "value"}]` as `[{"spec_id", "value"}]` for the label's attributes.
fn attribute_ids(map: &mut Map<String, Value>, label: &LabelInfo) {
    let Some(Value::Array(values)) = map.get_mut("attributes") else { return };
    values.retain_mut(|value| {
        let spec = value["name"].as_str().and_then(|n| label.attributes.iter().find(|a| a.name == n));
        match (spec, value.as_object_mut()) {
            (Some(spec), Some(value)) => {
                value.remove("name");
                value.insert("spec_id".into(), Value::from(spec.id));
                true
            }
            _ => false,
        }
    });
}
