//! The annotation document as the reference defines it (`LabeledData`, `LabeledImage`,
//! `LabeledShape`, `LabeledTrack`, `TrackedShape`, `LabeledInterval`, `AttributeVal`).
//! One type serves the request and the read model: requests may leave out what has a
//! default (`id`, `group`, `source`, `attributes`, geometry flags), reads always carry it.
//! Skeleton elements use the same types as top-level objects (`SubLabeledShape` and
//! `SubLabeledTrack` are these without `elements`; an element's `elements` stay empty).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One annotation document of a job or a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct LabeledData {
    /// Always 0, as in CVAT.
    pub version: i64,
    pub tags: Vec<Tag>,
    pub shapes: Vec<Shape>,
    pub tracks: Vec<Track>,
    pub intervals: Vec<Interval>,
}

impl LabeledData {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.shapes.is_empty() && self.tracks.is_empty() && self.intervals.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttributeVal {
    pub spec_id: i64,
    pub value: String,
}

/// Where an object came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    #[default]
    Manual,
    SemiAuto,
    Auto,
    File,
    Consensus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShapeType {
    Rectangle,
    Polygon,
    Polyline,
    Points,
    Ellipse,
    Cuboid,
    Mask,
    Skeleton,
}

impl ShapeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rectangle => "rectangle",
            Self::Polygon => "polygon",
            Self::Polyline => "polyline",
            Self::Points => "points",
            Self::Ellipse => "ellipse",
            Self::Cuboid => "cuboid",
            Self::Mask => "mask",
            Self::Skeleton => "skeleton",
        }
    }
}

/// `LabeledImage`: a tag on one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = LabeledImage)]
pub struct Tag {
    #[serde(default)]
    pub id: Option<i64>,
    pub frame: u32,
    pub label_id: i64,
    #[serde(default)]
    pub group: Option<i64>,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub attributes: Vec<AttributeVal>,
}

/// `LabeledShape` (and `SubLabeledShape` as an element of a skeleton).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = LabeledShape)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default)]
    pub occluded: bool,
    #[serde(default)]
    pub outside: bool,
    #[serde(default)]
    pub z_order: i32,
    #[serde(default)]
    pub rotation: f64,
    #[serde(default)]
    pub points: Vec<f64>,
    #[serde(default)]
    pub id: Option<i64>,
    pub frame: u32,
    pub label_id: i64,
    #[serde(default)]
    pub group: Option<i64>,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub attributes: Vec<AttributeVal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0.0, maximum = 1.0)]
    pub score: Option<f64>,
    #[serde(default)]
    #[schema(no_recursion)]
    pub elements: Vec<Shape>,
}

/// `TrackedShape`: one keyframe of a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrackedShape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default)]
    pub occluded: bool,
    #[serde(default)]
    pub outside: bool,
    #[serde(default)]
    pub z_order: i32,
    #[serde(default)]
    pub rotation: f64,
    #[serde(default)]
    pub points: Vec<f64>,
    #[serde(default)]
    pub id: Option<i64>,
    pub frame: u32,
    #[serde(default)]
    pub attributes: Vec<AttributeVal>,
}

/// `LabeledTrack` (and `SubLabeledTrack` as an element of a skeleton track).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = LabeledTrack)]
pub struct Track {
    #[serde(default)]
    pub id: Option<i64>,
    pub frame: u32,
    pub label_id: i64,
    #[serde(default)]
    pub group: Option<i64>,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub attributes: Vec<AttributeVal>,
    pub shapes: Vec<TrackedShape>,
    #[serde(default)]
    #[schema(no_recursion)]
    pub elements: Vec<Track>,
}

/// `LabeledInterval`: a label over a frame range (`stop` null: to the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = LabeledInterval)]
pub struct Interval {
    #[serde(default)]
    pub id: Option<i64>,
    pub label_id: i64,
    pub start: u32,
    pub stop: Option<u32>,
    #[serde(default)]
    pub group: Option<i64>,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub attributes: Vec<AttributeVal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0.0, maximum = 1.0)]
    pub score: Option<f64>,
}

/// What every stored object has: where it is and which label it carries.
pub trait Object {
    fn id(&self) -> Option<i64>;
    fn set_id(&mut self, id: i64);
    /// The first frame the object is on.
    fn frame(&self) -> u32;
    fn label_id(&self) -> i64;
}

macro_rules! object {
    ($ty:ty, $frame:ident) => {
        impl Object for $ty {
            fn id(&self) -> Option<i64> {
                self.id
            }
            fn set_id(&mut self, id: i64) {
                self.id = Some(id);
            }
            fn frame(&self) -> u32 {
                self.$frame
            }
            fn label_id(&self) -> i64 {
                self.label_id
            }
        }
    };
}

object!(Tag, frame);
object!(Shape, frame);
object!(Track, frame);
object!(Interval, start);
