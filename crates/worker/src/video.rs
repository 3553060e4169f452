//! Video and PDF task data: a distribution tool renders the selected frames to a stream
//! of PPM images on its stdout (ffmpeg for video, poppler's pdftoppm for PDF pages),
//! read one at a time, so memory holds a frame or two whatever the length of the file.

use crate::media::{Failure, LocalFile};
use cvat_codecs::Frame;
use cvat_proto::queue::ProcessTaskData;
use futures_util::StreamExt;
use std::io::Read;
use std::process::{Command, Stdio};

/// ffmpeg's `select` filter for start/stop/step (frame numbers of the video).
fn selection(job: &ProcessTaskData) -> String {
    let start = job.start_frame.max(0);
    let step = job.frame_step.max(1);
    let mut filter = format!("select=gte(n\\,{start})*not(mod(n-{start}\\,{step}))");
    if let Some(stop) = job.stop_frame {
        filter.push_str(&format!("*lte(n\\,{stop})"));
    }
    filter
}

/// What renders a file's frames, and the name each rendered frame gets.
struct Renderer {
    command: Command,
    /// The tool's name, for messages.
    tool: &'static str,
    /// Of the rendered images, keep the first and then every `keep_every`-th.
    keep_every: usize,
    /// The frame name of the k-th kept image.
    name: Box<dyn Fn(usize) -> String + Send>,
}

/// The frames of a spooled video: ffmpeg selects them; all are named after the video.
pub(crate) fn video_frames<'a>(
    file: LocalFile,
    name: String,
    job: &ProcessTaskData,
    quality: u8,
) -> crate::media::FrameStream<'a> {
    let mut command = Command::new("ffmpeg");
    command.args(["-v", "error", "-nostdin", "-i"]).arg(&file.path).args([
        "-vf",
        &selection(job),
        "-fps_mode",
        "passthrough",
        "-f",
        "image2pipe",
        "-vcodec",
        "ppm",
        "-",
    ]);
    let source = format!("video {name}");
    let renderer = Renderer { command, tool: "ffmpeg", keep_every: 1, name: Box::new(move |_| name.clone()) };
    rendered(file, renderer, source, quality)
}

/// The pages of a spooled PDF as frames named `<stem><page, 9 digits>.jpeg` like CVAT's,
/// pages chosen by start/stop/step.
pub(crate) fn pdf_frames<'a>(
    file: LocalFile,
    name: &str,
    job: &ProcessTaskData,
    quality: u8,
) -> crate::media::FrameStream<'a> {
    let start = job.start_frame.max(0) as usize;
    let step = job.frame_step.max(1) as usize;
    let mut command = Command::new("pdftoppm");
    command.args(["-r", "150", "-f", &(start + 1).to_string()]);
    if let Some(stop) = job.stop_frame {
        command.args(["-l", &(stop.max(0) + 1).to_string()]);
    }
    command.arg(&file.path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem).to_string();
    let naming = move |k: usize| format!("{stem}{:09}.jpeg", start + k * step);
    let renderer = Renderer { command, tool: "pdftoppm", keep_every: step, name: Box::new(naming) };
    rendered(file, renderer, format!("PDF {name}"), quality)
}

/// Runs the renderer on a blocking thread and streams its frames.
fn rendered<'a>(file: LocalFile, mut renderer: Renderer, source: String, quality: u8) -> crate::media::FrameStream<'a> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<(String, Frame), Failure>>(2);
    tokio::task::spawn_blocking(move || {
        let _file = file;
        let spawned = renderer.command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let message = format!("the media worker cannot run {}: {e}", renderer.tool);
                let _ = sender.blocking_send(Err(Failure::Data(message)));
                return;
            }
        };
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut kept = 0usize;
        for index in 0.. {
            let item = match cvat_codecs::read_ppm(&mut stdout) {
                Ok(Some(_)) if index % renderer.keep_every != 0 => continue,
                Ok(Some(image)) => cvat_codecs::frame_from_rgb(image, quality)
                    .map(|frame| ((renderer.name)(kept), frame))
                    .map_err(|e| Failure::Data(e.to_string())),
                Ok(None) => break,
                Err(e) => Err(Failure::Data(format!("{source} cannot be read: {e}"))),
            };
            kept += 1;
            let failed = item.is_err();
            if sender.blocking_send(item).is_err() || failed {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
        }
        let mut errors = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut errors);
        }
        match child.wait() {
            Ok(status) if status.success() => {}
            _ => {
                let reason = errors.lines().next().unwrap_or("the file cannot be decoded").to_string();
                let _ = sender.blocking_send(Err(Failure::Data(format!("{source} cannot be read: {reason}"))));
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) }).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_selection() {
        let job = ProcessTaskData { start_frame: 5, frame_step: 2, stop_frame: Some(20), ..Default::default() };
        assert_eq!(selection(&job), "select=gte(n\\,5)*not(mod(n-5\\,2))*lte(n\\,20)");
        let all = ProcessTaskData::default();
        assert_eq!(selection(&all), "select=gte(n\\,0)*not(mod(n-0\\,1))");
    }
}
