//! The CVAT for images example of the reference (formats.md §3.3), written byte for byte,
//! and read back by the `CVAT 1.1` importer into the same document; the COCO example
//! (§6) likewise for its instances.

use cvat_annotations::{AttributeVal, LabeledData, Shape, ShapeType, Source, Track, TrackedShape};
use cvat_formats::{
    read_annotations, AttributeInfo, ExportSource, Format, FrameInfo, ImportFormat, LabelInfo, Masks, Meta, Person,
    SegmentInfo, TaskInfo, UltralyticsTask,
};
use std::io::Read;

const EXAMPLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>demo</name>
      <size>2</size>
      <mode>annotation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2025-01-02 10:00:00.000000+00:00</created>
      <updated>2025-01-02 11:00:00.000000+00:00</updated>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>1</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>9</id>
          <start>0</start>
          <stop>1</stop>
          <url>http://localhost:8080/api/jobs/12</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email>admin@example.com</email>
      </owner>
      <assignee></assignee>
      <labels>
        <label>
          <name>car</name>
          <color>#fa3253</color>
          <type>rectangle</type>
          <attributes>
            <attribute>
              <name>color</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>road</name>
          <color>#33ddff</color>
          <type>polygon</type>
          <attributes>
          </attributes>
        </label>
      </labels>
    </task>
    <dumped>2025-01-02 12:00:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="img1.jpg" width="640" height="480">
    <box label="car" source="manual" occluded="0" xtl="10.00" ytl="20.00" xbr="110.00" ybr="70.00" z_order="0">
      <attribute name="color">red</attribute>
    </box>
  </image>
  <image id="1" name="img2.jpg" width="640" height="480">
    <polygon label="road" source="manual" occluded="0" points="0.00,400.00;320.00,300.00;640.00,400.00" z_order="0">
    </polygon>
  </image>
</annotations>
"#;

fn source(format: &str) -> ExportSource {
    let task = TaskInfo {
        id: 7,
        name: "demo".into(),
        size: 2,
        mode: "annotation".into(),
        overlap: 0,
        bug_tracker: String::new(),
        created: "2025-01-02 10:00:00.000000+00:00".into(),
        updated: "2025-01-02 11:00:00.000000+00:00".into(),
        subset: String::new(),
        start_frame: 0,
        stop_frame: 1,
        frame_step: 1,
        frame_filter: String::new(),
        segments: vec![SegmentInfo { id: 9, start: 0, stop: 1, url: "http://localhost:8080/api/jobs/12".into() }],
        owner: Some(Person { username: "admin".into(), email: "admin@example.com".into() }),
        assignee: None,
        video: None,
    };
    let frame = |n: u32, name: &str| FrameInfo {
        frame: n,
        id: i64::from(n),
        subset: "default".into(),
        task_id: 7,
        name: name.into(),
        width: 640,
        height: 480,
        image: None,
    };
    ExportSource {
        format: format.into(),
        save_images: false,
        result_key: String::new(),
        backup: None,
        meta: Meta::Task(task),
        labels: vec![
            LabelInfo {
                id: 1,
                name: "car".into(),
                color: "#fa3253".into(),
                kind: "rectangle".into(),
                parent: None,
                svg: String::new(),
                attributes: vec![AttributeInfo {
                    id: 11,
                    name: "color".into(),
                    mutable: false,
                    input_type: "select".into(),
                    default_value: "red".into(),
                    values: vec!["red".into(), "blue".into()],
                }],
            },
            LabelInfo {
                id: 2,
                name: "road".into(),
                color: "#33ddff".into(),
                kind: "polygon".into(),
                parent: None,
                svg: String::new(),
                attributes: Vec::new(),
            },
        ],
        frames: vec![frame(0, "img1.jpg"), frame(1, "img2.jpg")],
        dumped: "2025-01-02 12:00:00.000000+00:00".into(),
    }
}

fn shape(kind: ShapeType, frame: u32, label_id: i64, points: Vec<f64>, attributes: Vec<AttributeVal>) -> Shape {
    Shape {
        kind,
        occluded: false,
        outside: false,
        z_order: 0,
        rotation: 0.0,
        points,
        id: None,
        frame,
        label_id,
        group: None,
        source: Source::Manual,
        attributes,
        score: None,
        elements: Vec::new(),
    }
}

fn document() -> LabeledData {
    LabeledData {
        shapes: vec![
            shape(
                ShapeType::Rectangle,
                0,
                1,
                vec![10.0, 20.0, 110.0, 70.0],
                vec![AttributeVal { spec_id: 11, value: "red".into() }],
            ),
            shape(ShapeType::Polygon, 1, 2, vec![0.0, 400.0, 320.0, 300.0, 640.0, 400.0], Vec::new()),
        ],
        ..Default::default()
    }
}

/// The archive the writer makes for `source`, as (name, bytes) pairs.
fn archive(source: &ExportSource) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(source, &annotations(&document()), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut read = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..read.len())
        .map(|i| {
            let mut entry = read.by_index(i).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().to_string(), content)
        })
        .collect()
}

fn read_back(format: ImportFormat, bytes: &[u8], source: &ExportSource) -> LabeledData {
    read_back_with(format, bytes, source, Masks::Keep)
}

fn read_back_with(format: ImportFormat, bytes: &[u8], source: &ExportSource, masks: Masks) -> LabeledData {
    // Tests run in parallel: one file per call.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("cvat-formats-test-{}-{call}-{format:?}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let mut data = LabeledData::default();
    read_annotations(format, &path, source, masks, &mut data).unwrap();
    std::fs::remove_file(&path).unwrap();
    data
}

#[test]
fn cvat_for_images_writes_the_reference_example_and_reads_it_back() {
    let source = source(Format::CvatImages.name());
    let files = archive(&source);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "annotations.xml");
    assert_eq!(String::from_utf8(files[0].1.clone()).unwrap(), EXAMPLE);
    assert_eq!(read_back(ImportFormat::Cvat, EXAMPLE.as_bytes(), &source), document());
}

#[test]
fn coco_writes_the_reference_example_and_reads_it_back() {
    let source = source(Format::Coco.name());
    let files = archive(&source);
    assert_eq!(files[0].0, "annotations/instances_default.json");
    let written: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    let expected = serde_json::json!({"licenses":[{"name":"","id":0,"url":""}],
        "info":{"contributor":"","date_created":"","description":"","url":"","version":"","year":""},
        "categories":[{"id":1,"name":"car","supercategory":""},{"id":2,"name":"road","supercategory":""}],
        "images":[
            {"id":1,"width":640,"height":480,"file_name":"img1.jpg","license":0,"flickr_url":"","coco_url":"","date_captured":0},
            {"id":2,"width":640,"height":480,"file_name":"img2.jpg","license":0,"flickr_url":"","coco_url":"","date_captured":0}],
        "annotations":[
            {"id":1,"image_id":1,"category_id":1,"segmentation":[],"area":5000.0,"bbox":[10.0,20.0,100.0,50.0],"iscrowd":0,
             "attributes":{"color":"red","occluded":false,"rotation":0.0}},
            {"id":2,"image_id":2,"category_id":2,"segmentation":[[0.0,400.0,320.0,300.0,640.0,400.0]],"area":32000.0,
             "bbox":[0.0,300.0,640.0,100.0],"iscrowd":0,"attributes":{"occluded":false}}]});
    assert_eq!(written, expected);
    assert_eq!(read_back(ImportFormat::Coco, &files[0].1, &source), document());
    // A file that lists its annotations before the images and categories they name is
    // read the same (they wait for the lists); one without categories is refused.
    let mut reordered = serde_json::Map::new();
    for key in ["annotations", "images", "categories"] {
        reordered.insert(key.to_string(), expected[key].clone());
    }
    let reordered = serde_json::to_vec(&reordered).unwrap();
    assert_eq!(read_back(ImportFormat::Coco, &reordered, &source), document());
    let mut no_categories = expected.clone();
    no_categories.as_object_mut().unwrap().remove("categories");
    let path = std::env::temp_dir().join(format!("cvat-formats-test-{}-no-categories", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&no_categories).unwrap()).unwrap();
    let refused =
        read_annotations(ImportFormat::Coco, &path, &source, Masks::Keep, &mut LabeledData::default()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(refused.to_string(), "Malformed COCO JSON: missing field `categories`");
}

#[test]
fn yolo_writes_the_reference_example_and_reads_its_boxes_back() {
    let source = source(Format::Yolo.name());
    let files: std::collections::HashMap<String, String> =
        archive(&source).into_iter().map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap())).collect();
    assert_eq!(files["obj.data"], "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n");
    assert_eq!(files["obj.names"], "car\nroad\n");
    assert_eq!(files["train.txt"], "data/obj_train_data/img1.jpg\ndata/obj_train_data/img2.jpg\n");
    assert_eq!(files["obj_train_data/img1.txt"], "0 0.093750 0.093750 0.156250 0.104167\n");
    assert_eq!(files["obj_train_data/img2.txt"], "");

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(&source, &annotations(&document()), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let read = read_back(ImportFormat::Yolo, &bytes, &source);
    let [box_] = &read.shapes[..] else { panic!("one box: {read:?}") };
    assert_eq!((box_.frame, box_.label_id, box_.kind), (0, 1, ShapeType::Rectangle));
    for (got, want) in box_.points.iter().zip([10.0, 20.0, 110.0, 70.0]) {
        assert!((got - want).abs() < 0.01, "{:?}", box_.points);
    }
}

#[test]
fn ultralytics_detection_writes_the_reference_layout_and_reads_it_back() {
    let source = source(Format::Ultralytics(UltralyticsTask::Detection).name());
    let files: std::collections::HashMap<String, String> =
        archive(&source).into_iter().map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap())).collect();
    assert_eq!(files["data.yaml"], "names:\n  0: car\n  1: road\npath: .\ntrain: train.txt\n");
    assert_eq!(files["train.txt"], "data/images/train/img1.jpg\ndata/images/train/img2.jpg\n");
    assert_eq!(files["labels/train/img1.txt"], "0 0.093750 0.093750 0.156250 0.104167\n");
    assert!(!files.contains_key("labels/train/img2.txt"), "no file for an item without boxes");

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(&source, &annotations(&document()), &mut zip).unwrap();
    let read =
        read_back(ImportFormat::Ultralytics(UltralyticsTask::Detection), &zip.finish().unwrap().into_inner(), &source);
    let [box_] = &read.shapes[..] else { panic!("one box: {read:?}") };
    assert_eq!((box_.frame, box_.label_id), (0, 1));
    for (got, want) in box_.points.iter().zip([10.0, 20.0, 110.0, 70.0]) {
        assert!((got - want).abs() < 0.01, "{:?}", box_.points);
    }
}

#[test]
fn datumaro_writes_the_reference_example() {
    let source = source(Format::Datumaro.name());
    let files = archive(&source);
    assert_eq!(files[0].0, "annotations/default.json");
    let text = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(text.contains("\"dm_format_version\": \"1.0\""), "Python's separators: {text}");
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    let expected = serde_json::json!({"dm_format_version": "1.0", "media_type": 2, "infos": {},
        "categories": {"label": {"labels": [{"name": "car", "parent": "", "attributes": []},
                                            {"name": "road", "parent": "", "attributes": []}],
                                 "label_groups": [], "attributes": ["color", "occluded"]},
                       "points": {"items": []}},
        "items": [
            {"id": "img1", "annotations": [{"id": 0, "type": "bbox",
                "attributes": {"color": "red", "occluded": false, "rotation": 0.0},
                "group": 0, "label_id": 0, "z_order": 0, "bbox": [10.0, 20.0, 100.0, 50.0]}],
             "attr": {"frame": 0}, "image": {"path": "img1.jpg", "size": [480, 640]}},
            {"id": "img2", "annotations": [{"id": 0, "type": "polygon", "attributes": {"occluded": false},
                "group": 0, "label_id": 1, "points": [0.0, 400.0, 320.0, 300.0, 640.0, 400.0], "z_order": 0}],
             "attr": {"frame": 1}, "image": {"path": "img2.jpg", "size": [480, 640]}}]});
    assert_eq!(written, expected);
    // Read back: the same shapes, from a file (the file names no source).
    let mut document = document();
    document.shapes.iter_mut().for_each(|s| s.source = Source::File);
    assert_eq!(read_back(ImportFormat::Datumaro, &files[0].1, &source), document);
}

/// The CVAT for video example of the reference (formats.md §4): the same meta, each
/// plain shape a track (neither gets a closing frame in a 2-frame task).
const VIDEO_BODY: &str = r#"  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="10.00" ytl="20.00" xbr="110.00" ybr="70.00" z_order="0">
      <attribute name="color">red</attribute>
    </box>
  </track>
  <track id="1" label="road" source="manual">
    <polygon frame="1" keyframe="1" outside="0" occluded="0" points="0.00,400.00;320.00,300.00;640.00,400.00" z_order="0">
    </polygon>
  </track>
</annotations>
"#;

fn as_track(shape: &Shape, outside_at: Option<u32>) -> Track {
    let keyframe = |frame: u32, outside: bool| TrackedShape {
        kind: shape.kind,
        occluded: false,
        outside,
        z_order: 0,
        rotation: 0.0,
        points: shape.points.clone(),
        id: None,
        frame,
        attributes: Vec::new(),
    };
    let mut shapes = vec![keyframe(shape.frame, false)];
    shapes.extend(outside_at.map(|frame| keyframe(frame, true)));
    Track {
        id: None,
        frame: shape.frame,
        label_id: shape.label_id,
        group: None,
        source: Source::File,
        attributes: shape.attributes.clone(),
        shapes,
        elements: Vec::new(),
    }
}

#[test]
fn cvat_for_video_writes_the_reference_example_and_reads_tracks_back() {
    let source = source(Format::CvatVideo.name());
    let files = archive(&source);
    assert_eq!(files[0].0, "annotations.xml");
    let head = &EXAMPLE[..EXAMPLE.find("  <image").unwrap()];
    let text = String::from_utf8(files[0].1.clone()).unwrap();
    assert_eq!(text, format!("{head}{VIDEO_BODY}"));
    // Shapes come back as the tracks they were written as.
    let tracks: Vec<Track> = document().shapes.iter().map(|s| as_track(s, None)).collect();
    assert_eq!(read_back(ImportFormat::Cvat, text.as_bytes(), &source).tracks, tracks);
}

#[test]
fn cvat_for_video_writes_interpolated_frames_and_outside_keyframes() {
    let mut source = source(Format::CvatVideo.name());
    let frame = source.frames[0].clone();
    source.frames =
        (0..4).map(|n| FrameInfo { frame: n, id: i64::from(n), name: format!("f{n}.jpg"), ..frame.clone() }).collect();
    let box_at = |frame: u32, x: f64| shape(ShapeType::Rectangle, frame, 1, vec![x, 0.0, x + 10.0, 10.0], Vec::new());
    // A track visible on 0..=1 (moving), outside from 2; a plain shape on frame 1 closed on 2.
    let mut track = as_track(&box_at(0, 0.0), Some(2));
    track.shapes.insert(1, TrackedShape { frame: 1, points: vec![20.0, 0.0, 30.0, 10.0], ..track.shapes[0].clone() });
    track.attributes = vec![AttributeVal { spec_id: 11, value: "blue".into() }];
    track.source = Source::Manual;
    let plain = box_at(1, 50.0);
    let data = LabeledData { shapes: vec![plain.clone()], tracks: vec![track.clone()], ..Default::default() };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(&source, &annotations(&data), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut xml = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap().by_index(0).unwrap().read_to_string(&mut xml).unwrap();
    let body = &xml[xml.find("  <track").unwrap()..];
    assert_eq!(
        body,
        r#"  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="0.00" ytl="0.00" xbr="10.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
    <box frame="1" keyframe="1" outside="0" occluded="0" xtl="20.00" ytl="0.00" xbr="30.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
    <box frame="2" keyframe="1" outside="1" occluded="0" xtl="0.00" ytl="0.00" xbr="10.00" ybr="10.00" z_order="0">
      <attribute name="color">blue</attribute>
    </box>
  </track>
  <track id="1" label="car" source="manual">
    <box frame="1" keyframe="1" outside="0" occluded="0" xtl="50.00" ytl="0.00" xbr="60.00" ybr="10.00" z_order="0">
    </box>
    <box frame="2" keyframe="1" outside="1" occluded="0" xtl="50.00" ytl="0.00" xbr="60.00" ybr="10.00" z_order="0">
    </box>
  </track>
</annotations>
"#
    );
    let back = read_back(ImportFormat::Cvat, xml.as_bytes(), &source);
    track.source = Source::File;
    assert_eq!(back.tracks, vec![track, as_track(&plain, Some(2))]);
}

/// The archive of `source` for `data`, as (name → text).
fn text_files(source: &ExportSource, data: &LabeledData) -> (std::collections::HashMap<String, String>, Vec<u8>) {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(source, &annotations(data), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut read = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let files = (0..read.len())
        .map(|i| {
            let mut entry = read.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_string(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    (files, bytes)
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 0.01, "{got:?} vs {want:?}");
    }
}

#[test]
fn ultralytics_oriented_boxes_write_the_reference_corners_and_read_the_rotation_back() {
    let task = UltralyticsTask::OrientedBoxes;
    let source = source(Format::Ultralytics(task).name());
    let (files, _) = text_files(&source, &document());
    assert_eq!(
        files["labels/train/img1.txt"],
        "0 0.015625 0.041667 0.171875 0.041667 0.171875 0.145833 0.015625 0.145833\n"
    );
    let mut turned = document();
    turned.shapes[0].rotation = 30.0;
    let (_, bytes) = text_files(&source, &turned);
    let read = read_back(ImportFormat::Ultralytics(task), &bytes, &source);
    let [box_] = &read.shapes[..] else { panic!("one box: {read:?}") };
    assert_close(&box_.points, &[10.0, 20.0, 110.0, 70.0]);
    assert!((box_.rotation - 30.0).abs() < 1e-3, "{}", box_.rotation);
}

#[test]
fn ultralytics_segmentation_writes_the_reference_polygon_and_reads_it_back() {
    let task = UltralyticsTask::Segmentation;
    let source = source(Format::Ultralytics(task).name());
    let (files, bytes) = text_files(&source, &document());
    assert_eq!(files["labels/train/img2.txt"], "1 0.000000 0.833333 0.500000 0.625000 1.000000 0.833333\n");
    assert!(!files.contains_key("labels/train/img1.txt"), "boxes are not segments");
    let read = read_back(ImportFormat::Ultralytics(task), &bytes, &source);
    let [polygon] = &read.shapes[..] else { panic!("one polygon: {read:?}") };
    assert_eq!((polygon.kind, polygon.frame, polygon.label_id), (ShapeType::Polygon, 1, 2));
    assert_close(&polygon.points, &[0.0, 400.0, 320.0, 300.0, 640.0, 400.0]);
    // A mask is traced into the polygons of its parts (the 5×4 block; the lone pixel
    // beside it is too small), as CVAT's exporter does.
    let mut data = document();
    let block = vec![0.0, 5.0, 6.0, 5.0, 6.0, 5.0, 5.0, 6.0, 6.0, 10.0, 10.0, 20.0, 13.0];
    data.shapes.push(shape(ShapeType::Mask, 0, 1, block, Vec::new()));
    let (files, _) = text_files(&source, &data);
    assert_eq!(
        files["labels/train/img1.txt"],
        "0 0.015625 0.020833 0.015625 0.027083 0.021875 0.027083 0.021875 0.020833 0.015625 0.020833\n"
    );
}

#[test]
fn ultralytics_pose_writes_skeletons_with_their_points_and_reads_them_back() {
    let task = UltralyticsTask::Pose;
    let mut source = source(Format::Ultralytics(task).name());
    let label = |id: i64, name: &str, kind: &str, parent: Option<&str>| LabelInfo {
        id,
        name: name.into(),
        color: "#000000".into(),
        kind: kind.into(),
        parent: parent.map(str::to_string),
        svg: String::new(),
        attributes: Vec::new(),
    };
    source.labels.push(label(3, "person", "skeleton", None));
    source.labels.push(label(4, "head", "points", Some("person")));
    source.labels.push(label(5, "hand", "points", Some("person")));
    source.labels.push(label(6, "foot", "points", Some("person")));
    let point = |label_id: i64, x: f64, y: f64| shape(ShapeType::Points, 0, label_id, vec![x, y], Vec::new());
    let mut skeleton = shape(ShapeType::Skeleton, 0, 3, Vec::new(), Vec::new());
    let mut hand = point(5, 320.0, 240.0);
    hand.occluded = true;
    let mut foot = point(6, 0.0, 0.0);
    foot.outside = true;
    skeleton.elements = vec![point(4, 64.0, 48.0), hand, foot];
    let data = LabeledData { shapes: vec![skeleton], ..Default::default() };
    let (files, bytes) = text_files(&source, &data);
    assert_eq!(files["data.yaml"], "kpt_shape:\n- 3\n- 3\nnames:\n  0: person\npath: .\ntrain: train.txt\n");
    // The box of the present points (head and hand), then each point with its visibility.
    assert_eq!(
        files["labels/train/img1.txt"],
        "0 0.300000 0.300000 0.400000 0.400000 0.100000 0.100000 2 0.500000 0.500000 1 0.000000 0.000000 0\n"
    );
    let read = read_back(ImportFormat::Ultralytics(task), &bytes, &source);
    let [back] = &read.shapes[..] else { panic!("one skeleton: {read:?}") };
    assert_eq!((back.kind, back.label_id), (ShapeType::Skeleton, 3));
    let points: Vec<(i64, bool, bool)> = back.elements.iter().map(|e| (e.label_id, e.occluded, e.outside)).collect();
    assert_eq!(points, [(4, false, false), (5, true, false), (6, false, true)]);
    assert_close(&back.elements[1].points, &[320.0, 240.0]);
}

#[test]
fn ultralytics_classification_lists_tags_per_item_and_reads_them_back() {
    let source = source(Format::UltralyticsClassification.name());
    let mut data = document();
    data.tags.push(cvat_annotations::Tag {
        id: None,
        frame: 0,
        label_id: 1,
        group: None,
        source: Source::Manual,
        attributes: Vec::new(),
    });
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let places = cvat_formats::write_annotations(&source, &annotations(&data), &mut zip).unwrap();
    assert_eq!(places, [vec!["train/car/img1.jpg".to_string()], vec!["train/no_label/img2.jpg".to_string()]]);
    let bytes = zip.finish().unwrap().into_inner();
    let mut json = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(bytes.clone()))
        .unwrap()
        .by_name("train/labels.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    assert_eq!(
        json,
        r#"{"img1":{"labels":["car"],"path":"car/img1.jpg"},"img2":{"labels":[],"path":"no_label/img2.jpg"}}"#
    );
    let read = read_back(ImportFormat::UltralyticsClassification, &bytes, &source);
    assert_eq!(read.tags, data.tags);
    assert!(read.shapes.is_empty());
}

#[test]
fn coco_keypoints_writes_the_reference_annotation_and_reads_the_skeleton_back() {
    let mut source = source(Format::CocoKeypoints.name());
    let label = |id: i64, name: &str, kind: &str, parent: Option<&str>, svg: &str| LabelInfo {
        id,
        name: name.into(),
        color: "#000000".into(),
        kind: kind.into(),
        parent: parent.map(str::to_string),
        svg: svg.into(),
        attributes: Vec::new(),
    };
    let svg = r#"<line x1="1" y1="1" x2="2" y2="2" data-type="edge" data-node-from="1" data-node-to="2"></line><circle r="0.75" cx="1" cy="1" data-type="element node" data-element-id="1" data-node-id="1" data-label-name="nose"></circle>"#;
    source.labels.push(label(3, "person", "skeleton", None, svg));
    source.labels.push(label(4, "nose", "points", Some("person"), ""));
    source.labels.push(label(5, "tail", "points", Some("person"), ""));
    let point = |label_id: i64, x: f64, y: f64| shape(ShapeType::Points, 0, label_id, vec![x, y], Vec::new());
    let mut skeleton = shape(ShapeType::Skeleton, 0, 3, Vec::new(), Vec::new());
    let mut tail = point(5, 52.0, 60.0);
    tail.occluded = true;
    skeleton.elements = vec![point(4, 12.0, 30.0), tail];
    let mut data = document();
    data.shapes.push(skeleton.clone());
    let (files, bytes) = text_files(&source, &data);
    let json: serde_json::Value = serde_json::from_str(&files["annotations/person_keypoints_default.json"]).unwrap();
    assert_eq!(
        json["categories"],
        serde_json::json!([
            {"id": 1, "name": "car", "supercategory": "", "keypoints": [], "skeleton": []},
            {"id": 2, "name": "road", "supercategory": "", "keypoints": [], "skeleton": []},
            {"id": 3, "name": "person", "supercategory": "", "keypoints": ["nose", "tail"], "skeleton": [[1, 2]]},
        ])
    );
    // Only the skeleton: boxes and polygons not grouped with one are left out.
    assert_eq!(
        json["annotations"],
        serde_json::json!([{"id": 1, "image_id": 1, "category_id": 3, "segmentation": [], "area": 1200.0,
            "bbox": [12.0, 30.0, 40.0, 30.0], "iscrowd": 0, "attributes": {"occluded": false, "keyframe": false},
            "keypoints": [12.0, 30.0, 2, 52.0, 60.0, 1], "num_keypoints": 2}])
    );
    let read = read_back(ImportFormat::CocoKeypoints, &bytes, &source);
    assert_eq!(read.shapes.len(), 1, "{read:?}");
    let back = &read.shapes[0];
    assert_eq!((back.kind, back.label_id, back.frame), (ShapeType::Skeleton, 3, 0));
    assert_eq!(back.elements, skeleton.elements);
}

#[test]
fn pascal_voc_writes_the_reference_example_and_reads_boxes_and_masks_back() {
    let source = source(Format::Voc.name());
    let mut data = document();
    // A 3×2 mask on img2 (rows 011/110 of the box (2,1)-(4,2)).
    data.shapes.push(shape(ShapeType::Mask, 1, 2, vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0], Vec::new()));
    let (files, bytes) = text_files(&source, &document());
    assert_eq!(
        files["Annotations/img1.xml"],
        "<annotation>\n  <folder></folder>\n  <filename>img1.jpg</filename>\n  <source>\n    <database>Unknown</database>\n    \
         <annotation>Unknown</annotation>\n    <image>Unknown</image>\n  </source>\n  <size>\n    <width>640</width>\n    \
         <height>480</height>\n    <depth></depth>\n  </size>\n  <segmented>0</segmented>\n  <object>\n    <name>car</name>\n    \
         <truncated>0</truncated>\n    <occluded>0</occluded>\n    <difficult>0</difficult>\n    <bndbox>\n      \
         <xmin>10.0</xmin>\n      <ymin>20.0</ymin>\n      <xmax>110.0</xmax>\n      <ymax>70.0</ymax>\n    </bndbox>\n    \
         <attributes>\n      <attribute>\n        <name>color</name>\n        <value>red</value>\n      </attribute>\n      \
         <attribute>\n        <name>rotation</name>\n        <value>0.0</value>\n      </attribute>\n    </attributes>\n  \
         </object>\n</annotation>\n"
    );
    assert_eq!(files["ImageSets/Main/default.txt"], "img1\nimg2\n");
    assert_eq!(
        files["labelmap.txt"],
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:128,0,0::\nroad:0,128,0::\n"
    );
    assert!(!files.contains_key("SegmentationClass/img2.png"), "no masks, no segmentation");
    assert!(!files.keys().any(|f| f.starts_with("ImageSets/Action/")), "every item has annotations");
    // Items without annotations are listed for Segmentation, Action and Layout too.
    let (bare, _) = text_files(&source, &LabeledData::default());
    for list in ["Main", "Segmentation", "Action", "Layout"] {
        assert_eq!(bare[&format!("ImageSets/{list}/default.txt")], "img1\nimg2\n", "{list}");
    }
    let read = read_back(ImportFormat::Voc, &bytes, &source);
    let [box_] = &read.shapes[..] else { panic!("one box: {read:?}") };
    assert_eq!(box_.points, vec![10.0, 20.0, 110.0, 70.0]);
    assert_eq!(box_.attributes, vec![AttributeVal { spec_id: 11, value: "red".into() }]);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(&source, &annotations(&data), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let read = read_back(ImportFormat::Voc, &bytes, &source);
    let masks: Vec<&Shape> = read.shapes.iter().filter(|s| s.kind == ShapeType::Mask).collect();
    assert_eq!(masks.len(), 1);
    assert_eq!((masks[0].frame, masks[0].label_id), (1, 2));
    assert_eq!(masks[0].points, vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0]);

    // With `conv_mask_to_poly` (CVAT's default) masks are traced: a 5×4 block with a
    // pixel beside it becomes the block's outline (datumaro's polygon, made with
    // OpenCV); the 3×2 mask above and the lone pixel are too small to keep.
    let mut data = document();
    data.shapes.push(shape(ShapeType::Mask, 1, 2, vec![1.0, 4.0, 1.0, 2.0, 1.0, 4.0, 2.0], Vec::new()));
    let block = vec![0.0, 5.0, 6.0, 5.0, 6.0, 5.0, 5.0, 6.0, 6.0, 10.0, 10.0, 20.0, 13.0];
    data.shapes.push(shape(ShapeType::Mask, 1, 1, block, Vec::new()));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    cvat_formats::write_annotations(&source, &annotations(&data), &mut zip).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let read = read_back_with(ImportFormat::Voc, &bytes, &source, Masks::Trace);
    let traced: Vec<(u32, i64, ShapeType, Vec<f64>)> =
        read.shapes.iter().filter(|s| s.frame == 1).map(|s| (s.frame, s.label_id, s.kind, s.points.clone())).collect();
    let outline = vec![10.0, 10.0, 10.0, 13.0, 14.0, 13.0, 14.0, 10.0, 10.0, 10.0];
    assert!(traced.contains(&(1, 1, ShapeType::Polygon, outline)), "{traced:?}");
    assert!(!read.shapes.iter().any(|s| s.kind == ShapeType::Mask));
}

#[test]
fn segmentation_mask_paints_every_shape_with_an_area_and_reads_masks_back() {
    let source = source(Format::SegmentationMask.name());
    let (files, bytes) = text_files(&source, &document());
    assert_eq!(
        files["labelmap.txt"],
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:250,50,83::\nroad:51,221,255::\n"
    );
    assert_eq!(files["ImageSets/Segmentation/default.txt"], "img1\nimg2\n");
    assert!(!files.keys().any(|f| f.starts_with("Annotations/")), "segmentation only");
    let read = read_back(ImportFormat::SegmentationMask, &bytes, &source);
    let masks: Vec<(u32, i64, Vec<f64>)> =
        read.shapes.iter().map(|s| (s.frame, s.label_id, s.points[s.points.len() - 4..].to_vec())).collect();
    // The box (10,20)-(110,70) and the triangle, painted as pycocotools rasterises them
    // (CVAT's boxes_to_masks and polygons_to_masks: its bboxes [10,20,100,50] and
    // [2,300,636,100]), as masks of their labels.
    assert_eq!(masks, vec![(0, 1, vec![10.0, 20.0, 109.0, 69.0]), (1, 2, vec![2.0, 300.0, 637.0, 399.0])]);
    let box_mask = &read.shapes[0].points;
    let set: f64 = box_mask[..box_mask.len() - 4].iter().skip(1).step_by(2).sum();
    assert_eq!(set, 100.0 * 50.0, "the box's pixels");
}

/// A document as the export worker holds it.
fn annotations(data: &LabeledData) -> cvat_formats::Annotations {
    cvat_formats::Annotations::from_data(data).unwrap()
}
