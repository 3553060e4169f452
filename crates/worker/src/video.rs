//! Video task data: ffmpeg (the distribution's binary) decodes the selected frames to a
//! stream of PPM images on its stdout, read one at a time, so memory holds a frame or
//! two whatever the length of the video.

use crate::media::{Failure, TempFile};
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

/// The frames of a spooled video, decoded on a blocking thread.
pub(crate) fn frames<'a>(
    file: TempFile,
    name: String,
    job: &ProcessTaskData,
    quality: u8,
) -> crate::media::FrameStream<'a> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<(String, Frame), Failure>>(2);
    let filter = selection(job);
    tokio::task::spawn_blocking(move || {
        let _file = file;
        let spawned = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(&_file.0)
            .args(["-vf", &filter, "-fps_mode", "passthrough", "-f", "image2pipe", "-vcodec", "ppm", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = sender.blocking_send(Err(Failure::Data(format!("the media worker cannot run ffmpeg: {e}"))));
                return;
            }
        };
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        loop {
            let item = match cvat_codecs::read_ppm(&mut stdout) {
                Ok(Some(image)) => cvat_codecs::frame_from_rgb(image, quality)
                    .map(|frame| (name.clone(), frame))
                    .map_err(|e| Failure::Data(e.to_string())),
                Ok(None) => break,
                Err(e) => Err(Failure::Data(format!("video {name} cannot be read: {e}"))),
            };
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
                let reason = errors.lines().next().unwrap_or("ffmpeg failed").to_string();
                let _ = sender.blocking_send(Err(Failure::Data(format!("video {name} cannot be read: {reason}"))));
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
