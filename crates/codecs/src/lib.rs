//! Media codecs of task data, as pure functions over bytes: decoding images (EXIF
//! orientation applied), the compressed JPEG of a frame, chunk archives in CVAT's layout
//! (`{i:06d}.{ext}` members in frame order, stored uncompressed) and previews.
//!
//! JPEG is decoded and encoded by libjpeg-turbo (SIMD; the bulk of task data is JPEG);
//! other formats are decoded by the `image` crate.

pub mod archive;
pub mod manifest;
pub mod order;
pub mod related;

use image::{DynamicImage, ImageFormat};
use std::io::{Cursor, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Pillow's `Image.MAX_IMAGE_PIXELS`, which CVAT keeps: larger images are refused.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;

static MAX_PIXELS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_PIXELS);

/// Sets the largest image (and video frame), in pixels, that is decoded: a header that
/// declares more is refused before anything is allocated for it. Called once at start-up
/// (`CVAT_MAX_IMAGE_PIXELS`).
pub fn limit_pixels(max: u64) {
    MAX_PIXELS.store(max.max(1), Ordering::Relaxed);
}

/// Refuses a size over the limit, saying why.
fn check_pixels(width: u64, height: u64) -> Result<(), String> {
    let max = MAX_PIXELS.load(Ordering::Relaxed);
    let pixels = width.saturating_mul(height);
    if pixels > max {
        return Err(format!("{width}×{height} is {pixels} pixels, more than the {max} allowed"));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("file {name} is not a valid image: {reason}")]
    NotAnImage { name: String, reason: String },
    #[error("archive {name} cannot be used: {reason}")]
    NotAnArchive { name: String, reason: String },
    #[error("chunk archive is broken: {0}")]
    Archive(String),
    #[error("frame {0} is not in the chunk")]
    MissingMember(usize),
}

/// File extensions CVAT treats as images (what `mimetypes` calls `image/*`, minus SVG).
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "jpe", "png", "bmp", "tif", "tiff", "webp"];

pub fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default()
}

pub fn is_image_name(name: &str) -> bool {
    IMAGE_EXTENSIONS.contains(&extension(name).as_str())
}

/// What CVAT calls the kind of a file or directory in a listing (`mime_type` of a
/// share or bucket entry).
pub fn media_kind(name: &str, is_dir: bool) -> &'static str {
    if is_dir {
        return "DIR";
    }
    match extension(name).as_str() {
        _ if is_image_name(name) => "image",
        _ if is_video_name(name) => "video",
        "zip" => "zip",
        "tar" | "gz" | "tgz" | "bz2" | "7z" | "rar" => "archive",
        "pdf" => "pdf",
        _ => "unknown",
    }
}

/// One frame ready for the chunks.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// The original bytes, or the re-saved image when its orientation had to be applied.
    pub original: Vec<u8>,
    pub original_extension: String,
    /// JPEG at the task's image quality.
    pub compressed: Vec<u8>,
    pub image: DynamicImage,
}

impl Frame {
    /// Drops the decoded pixels, keeping the encoded bytes and the size.
    pub fn release_pixels(&mut self) {
        self.image = DynamicImage::new_rgb8(0, 0);
    }
}

/// Decodes an image file, applies its EXIF orientation and encodes the compressed frame.
pub fn process_image(name: &str, bytes: Vec<u8>, quality: u8) -> Result<Frame, MediaError> {
    let mut frame = original_frame(name, bytes)?;
    if frame.image.width() == 0 {
        frame.image = decode_oriented(name, &frame.original)?;
    }
    frame.compressed = jpeg(&frame.image, quality).map_err(|e| not_an_image(name, e.to_string()))?;
    Ok(frame)
}

fn not_an_image(name: &str, reason: String) -> MediaError {
    MediaError::NotAnImage { name: name.to_string(), reason }
}

/// An image file as its original frame, reading only its header (format, size, EXIF
/// orientation) unless it must be re-saved: a rotated image or a TIFF (which browsers do
/// not show) is decoded and stored as PNG, and keeps its pixels in `image`. Otherwise the
/// bytes are kept as they are and `image` is empty; `compressed` is always empty.
pub fn original_frame(name: &str, bytes: Vec<u8>) -> Result<Frame, MediaError> {
    let bad = |reason: String| not_an_image(name, reason);
    let format = image::guess_format(&bytes).map_err(|e| bad(e.to_string()))?;
    let (width, height) = dimensions(&bytes, format).map_err(bad)?;
    check_pixels(width.into(), height.into()).map_err(bad)?;
    let orientation = exif_orientation(&bytes);
    if orientation <= 1 && format != ImageFormat::Tiff {
        let image = DynamicImage::new_rgb8(0, 0);
        let original_extension = extension(name);
        return Ok(Frame { width, height, original: bytes, original_extension, compressed: Vec::new(), image });
    }
    let image = decode_oriented(name, &bytes)?;
    let mut original = Vec::new();
    image.write_to(&mut Cursor::new(&mut original), ImageFormat::Png).map_err(|e| bad(e.to_string()))?;
    let (width, height) = (image.width(), image.height());
    Ok(Frame { width, height, original, original_extension: "png".into(), compressed: Vec::new(), image })
}

/// An image file's pixels with its EXIF orientation applied.
pub fn decode_oriented(name: &str, bytes: &[u8]) -> Result<DynamicImage, MediaError> {
    let bad = |reason: String| not_an_image(name, reason);
    let format = image::guess_format(bytes).map_err(|e| bad(e.to_string()))?;
    let (width, height) = dimensions(bytes, format).map_err(bad)?;
    check_pixels(width.into(), height.into()).map_err(bad)?;
    let decoded = if format == ImageFormat::Jpeg {
        decode_jpeg(bytes).map_err(|e| bad(e.to_string()))?
    } else {
        image::load_from_memory_with_format(bytes, format).map_err(|e| bad(e.to_string()))?
    };
    Ok(orient(decoded, exif_orientation(bytes)))
}

/// The compressed frame (JPEG at `quality`) of an original frame's bytes.
pub fn compress(name: &str, original: &[u8], quality: u8) -> Result<Vec<u8>, MediaError> {
    let image = decode_oriented(name, original)?;
    jpeg(&image, quality).map_err(|e| not_an_image(name, e.to_string()))
}

/// A decoded video frame as a task frame: the original as a high-quality JPEG (video
/// frames have no file of their own) and the compressed one at the task's quality.
pub fn frame_from_rgb(image: image::RgbImage, quality: u8) -> Result<Frame, MediaError> {
    let image = DynamicImage::ImageRgb8(image);
    let encode = |q: u8| jpeg(&image, q).map_err(|e| MediaError::Archive(e.to_string()));
    let (original, compressed) = (encode(95)?, encode(quality)?);
    Ok(Frame {
        width: image.width(),
        height: image.height(),
        original,
        original_extension: "jpeg".into(),
        compressed,
        image,
    })
}

/// Video files CVAT accepts (one per task).
pub fn is_video_name(name: &str) -> bool {
    matches!(extension(name).as_str(), "mp4" | "avi" | "mkv" | "webm" | "mov" | "mpg" | "mpeg" | "m4v")
}

/// PDF documents, whose pages become frames.
pub fn is_pdf_name(name: &str) -> bool {
    extension(name) == "pdf"
}

/// Reads the next binary PPM (`P6`) image of a stream of them, as `ffmpeg -f image2pipe
/// -vcodec ppm` writes; `None` at the end of the stream.
pub fn read_ppm(reader: &mut impl Read) -> std::io::Result<Option<image::RgbImage>> {
    let mut tokens: Vec<String> = Vec::with_capacity(4);
    let mut current = String::new();
    let mut byte = [0u8; 1];
    while tokens.len() < 4 {
        if reader.read(&mut byte)? == 0 {
            return if tokens.is_empty() && current.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated PPM header"))
            };
        }
        if byte[0].is_ascii_whitespace() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        } else {
            current.push(byte[0] as char);
        }
    }
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a binary PPM");
    if tokens[0] != "P6" || tokens[3] != "255" {
        return Err(invalid());
    }
    let width: u32 = tokens[1].parse().map_err(|_| invalid())?;
    let height: u32 = tokens[2].parse().map_err(|_| invalid())?;
    check_pixels(width.into(), height.into())
        .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("a video frame of {reason}")))?;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    reader.read_exact(&mut pixels)?;
    image::RgbImage::from_raw(width, height, pixels).map(Some).ok_or_else(invalid)
}

/// The size of an encoded image (JPEG, PNG, …), read from its header.
pub fn image_size(name: &str, bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    let format = image::guess_format(bytes).map_err(|e| not_an_image(name, e.to_string()))?;
    dimensions(bytes, format).map_err(|reason| not_an_image(name, reason))
}

/// The frame size of an MP4 chunk of `width`×`height` frames, as CVAT makes them: a
/// compressed chunk halves the size while it is 1080 pixels high or more; H.264's 4:2:0
/// needs even sizes.
pub fn mp4_frame_size(width: u32, height: u32, compressed: bool) -> (u32, u32) {
    let mut factor = 1;
    while compressed && height / factor >= 1080 {
        factor *= 2;
    }
    let even = |n: u32| (n / factor).max(1).div_ceil(2) * 2;
    (even(width), even(height))
}

/// The H.264 constant rate factor of an image quality (1–100, higher is better), as CVAT
/// maps it: 100 → 0 (lossless) … 1 → 51.
pub fn mp4_crf(quality: u8) -> u8 {
    let quality = f64::from(quality.clamp(1, 100));
    (51.0 * (100.0 - quality) / 99.0).round() as u8
}

/// The size an image's header declares, read without decoding it.
fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), String> {
    if format == ImageFormat::Jpeg {
        let header =
            turbojpeg::Decompressor::new().and_then(|mut d| d.read_header(bytes)).map_err(|e| e.to_string())?;
        return Ok((header.width as u32, header.height as u32));
    }
    image::ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|e| e.to_string())
}

fn decode_jpeg(bytes: &[u8]) -> Result<DynamicImage, turbojpeg::Error> {
    let mut decompressor = turbojpeg::Decompressor::new()?;
    let header = decompressor.read_header(bytes)?;
    let mut pixels = vec![0u8; header.width * header.height * 3];
    let output = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: header.width,
        pitch: header.width * 3,
        height: header.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor.decompress(bytes, output)?;
    let buffer =
        image::RgbImage::from_raw(header.width as u32, header.height as u32, pixels).ok_or(turbojpeg::Error::Null())?;
    Ok(DynamicImage::ImageRgb8(buffer))
}

fn jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, turbojpeg::Error> {
    // JPEG has no alpha channel; an RGB image is used as it is.
    let converted;
    let rgb = match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => {
            converted = other.to_rgb8();
            &converted
        }
    };
    let mut compressor = turbojpeg::Compressor::new()?;
    compressor.set_quality(quality.clamp(1, 100) as i32);
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    compressor.compress_to_vec(turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width: rgb.width() as usize,
        pitch: rgb.width() as usize * 3,
        height: rgb.height() as usize,
        format: turbojpeg::PixelFormat::RGB,
    })
}

/// EXIF orientation 1..=8 (1 when absent or unreadable).
fn exif_orientation(bytes: &[u8]) -> u32 {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else { return 1 };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY).and_then(|f| f.value.get_uint(0)).unwrap_or(1)
}

fn orient(image: DynamicImage, orientation: u32) -> DynamicImage {
    match orientation {
        2 => image.fliph(),
        3 => image.rotate180(),
        4 => image.flipv(),
        5 => image.rotate90().fliph(),
        6 => image.rotate90(),
        7 => image.rotate270().fliph(),
        8 => image.rotate270(),
        _ => image,
    }
}

/// The thumbnail CVAT shows for a task or job: the frame fitted into 256×256, as JPEG.
pub fn preview(image: &DynamicImage) -> Vec<u8> {
    let thumbnail = image.thumbnail(256, 256);
    jpeg(&thumbnail, 85).unwrap_or_default()
}

/// CVAT's default chunk size for images of this size: 36 full-HD frames' worth of pixels,
/// between 2 and 72 frames.
pub fn default_chunk_size(width: u32, height: u32) -> u32 {
    let pixels = (width as u64 * height as u64).max(1);
    (36 * 1920 * 1080 / pixels).clamp(2, 72) as u32
}

/// Where a member's bytes are inside an archive (stored, so they can be read directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRange {
    pub offset: u64,
    pub length: u64,
}

/// A chunk archive and the byte range of each member, so a single frame can be read
/// from storage without the whole chunk.
pub fn chunk_archive_with_ranges<'a>(
    members: impl IntoIterator<Item = (&'a [u8], &'a str)>,
) -> Result<(Vec<u8>, Vec<MemberRange>), MediaError> {
    let archive = chunk_archive(members)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(&archive)).map_err(|e| MediaError::Archive(e.to_string()))?;
    let mut ranges = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let file = zip.by_index(i).map_err(|e| MediaError::Archive(e.to_string()))?;
        ranges.push(MemberRange { offset: file.data_start(), length: file.compressed_size() });
    }
    Ok((archive, ranges))
}

/// A chunk archive: members `000000.{ext}`, `000001.{ext}`, … in frame order, stored.
pub fn chunk_archive<'a>(members: impl IntoIterator<Item = (&'a [u8], &'a str)>) -> Result<Vec<u8>, MediaError> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (i, (bytes, extension)) in members.into_iter().enumerate() {
        writer.start_file(format!("{i:06}.{extension}"), options).map_err(|e| MediaError::Archive(e.to_string()))?;
        writer.write_all(bytes).map_err(|e| MediaError::Archive(e.to_string()))?;
    }
    let cursor = writer.finish().map_err(|e| MediaError::Archive(e.to_string()))?;
    Ok(cursor.into_inner())
}

/// The `index`-th member of a chunk archive and its file extension.
pub fn chunk_member(archive: &[u8], index: usize) -> Result<(Vec<u8>, String), MediaError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(archive)).map_err(|e| MediaError::Archive(e.to_string()))?;
    if index >= zip.len() {
        return Err(MediaError::MissingMember(index));
    }
    let mut file = zip.by_index(index).map_err(|e| MediaError::Archive(e.to_string()))?;
    let extension = extension(file.name());
    let mut out = Vec::with_capacity(file.size() as usize);
    file.read_to_end(&mut out).map_err(|e| MediaError::Archive(e.to_string()))?;
    Ok((out, extension))
}

/// The content type of a frame file by extension.
pub fn content_type(extension: &str) -> &'static str {
    match extension {
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "png" => "image/png",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "webp" => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    /// `jpeg` with its frame header (SOF0) saying `width`×`height`.
    pub(crate) fn claim_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
        let mut bytes = jpeg.to_vec();
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG");
        bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    }

    #[test]
    fn images_become_frames() {
        let source = png(40, 30);
        let frame = process_image("dir/a.png", source.clone(), 70).unwrap();
        assert_eq!((frame.width, frame.height), (40, 30));
        assert_eq!((frame.original.as_slice(), frame.original_extension.as_str()), (source.as_slice(), "png"));
        let compressed = image::load_from_memory(&frame.compressed).unwrap();
        assert_eq!((compressed.width(), compressed.height()), (40, 30));
        assert_eq!(image::guess_format(&frame.compressed).unwrap(), ImageFormat::Jpeg);
    }

    #[test]
    fn broken_files_are_named() {
        let mut truncated = png(40, 30);
        truncated.truncate(60);
        for (name, bytes) in [("notes.txt", b"hello".to_vec()), ("cut.png", truncated), ("empty.jpg", vec![])] {
            let err = process_image(name, bytes, 70).err().expect(name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn jpegs_go_through_libjpeg_turbo() {
        let png_frame = process_image("a.png", png(64, 48), 90).unwrap();
        let frame = process_image("b.jpg", png_frame.compressed.clone(), 50).unwrap();
        assert_eq!((frame.width, frame.height, frame.original_extension.as_str()), (64, 48, "jpg"));
        assert_eq!(frame.original, png_frame.compressed, "a JPEG original is kept as it is");
        let mut truncated = png_frame.compressed.clone();
        truncated.truncate(truncated.len() / 2);
        assert!(process_image("cut.jpg", truncated, 50).is_err(), "a truncated JPEG is refused");
        // A small JPEG whose header claims 60000×60000: refused before 10 GB are asked for.
        let huge = claim_size(&frame.compressed, 60_000, 60_000);
        let err = process_image("bomb.jpg", huge, 50).err().expect("a decompression bomb is refused").to_string();
        assert!(err.contains("bomb.jpg") && err.contains("more than the"), "{err}");
    }

    #[test]
    fn ppm_streams() {
        let mut stream = Vec::new();
        for shade in [10u8, 200] {
            stream.extend_from_slice(b"P6\n2 1\n255\n");
            stream.extend_from_slice(&[shade; 6]);
        }
        let mut reader = Cursor::new(stream);
        let first = read_ppm(&mut reader).unwrap().unwrap();
        assert_eq!((first.width(), first.height(), first.get_pixel(1, 0)[0]), (2, 1, 10));
        assert_eq!(read_ppm(&mut reader).unwrap().unwrap().get_pixel(0, 0)[2], 200);
        assert!(read_ppm(&mut reader).unwrap().is_none());
        assert!(read_ppm(&mut Cursor::new(b"P6\n2 1\n255\nab".to_vec())).is_err());
        let frame = frame_from_rgb(first, 50).unwrap();
        assert_eq!((frame.width, frame.original_extension.as_str()), (2, "jpeg"));
        assert!(is_video_name("clip.MP4") && !is_video_name("a.png"));
    }

    #[test]
    fn chunks_keep_frame_order() {
        let a = png(4, 4);
        let b = png(5, 5);
        let archive = chunk_archive([(a.as_slice(), "png"), (b.as_slice(), "jpeg")]).unwrap();
        assert_eq!(chunk_member(&archive, 0).unwrap(), (a.clone(), "png".to_string()));
        assert_eq!(chunk_member(&archive, 1).unwrap().1, "jpeg");
        assert!(chunk_member(&archive, 2).is_err());
        assert!(chunk_member(b"not a zip", 0).is_err());
        let (archive, ranges) = chunk_archive_with_ranges([(a.as_slice(), "png"), (b.as_slice(), "png")]).unwrap();
        for (range, bytes) in ranges.iter().zip([&a, &b]) {
            let start = range.offset as usize;
            assert_eq!(&archive[start..start + range.length as usize], bytes.as_slice());
        }
    }

    #[test]
    fn mp4_sizes_and_rates_follow_cvat() {
        assert_eq!(mp4_frame_size(1920, 1080, true), (960, 540));
        assert_eq!(mp4_frame_size(1920, 1080, false), (1920, 1080));
        assert_eq!(mp4_frame_size(3840, 2160, true), (960, 540));
        assert_eq!(mp4_frame_size(1280, 719, true), (1280, 720));
        assert_eq!(mp4_frame_size(95, 63, false), (96, 64));
        assert_eq!((mp4_crf(100), mp4_crf(70), mp4_crf(50), mp4_crf(1)), (0, 15, 26, 51));
        let jpeg = jpeg(&DynamicImage::new_rgb8(33, 17), 80).unwrap();
        assert_eq!(image_size("a.jpeg", &jpeg).unwrap(), (33, 17));
        assert!(image_size("a.jpeg", b"nope").is_err());
    }

    #[test]
    fn sizes_and_previews() {
        assert_eq!(default_chunk_size(1920, 1080), 36);
        assert_eq!(default_chunk_size(100, 100), 72);
        assert_eq!(default_chunk_size(8000, 8000), 2);
        let frame = process_image("a.png", png(600, 300), 50).unwrap();
        let preview = image::load_from_memory(&preview(&frame.image)).unwrap();
        assert_eq!((preview.width(), preview.height()), (256, 128));
        assert!(is_image_name("A.JPG") && !is_image_name("a.svg") && !is_image_name("a"));
    }
}
