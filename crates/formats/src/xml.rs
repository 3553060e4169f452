//! A small XML writer laid out as CVAT's exports are (Python's SAX generator with
//! CVAT's indentation): every start tag on a new line indented two spaces per level,
//! containers closed on their own line, leaves on one line.

use std::io::{self, Write};

pub struct Xml<W: Write> {
    out: W,
    depth: usize,
    /// Whether anything was written (the first tag of a document without a declaration
    /// starts the file).
    started: bool,
}

impl<W: Write> Xml<W> {
    /// Starts the document with its declaration.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>")?;
        Ok(Self { out, depth: 0, started: true })
    }

    /// A document without a declaration (lxml's pretty print, as VOC files are written).
    pub fn bare(out: W) -> Self {
        Self { out, depth: 0, started: false }
    }

    fn indent(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        self.out.write_all(b"\n")?;
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.indent()?;
        write!(self.out, "<{name}")?;
        for (key, value) in attributes {
            write!(self.out, " {key}={}", quote_attribute(value))?;
        }
        self.out.write_all(b">")
    }

    /// Opens a container whose closing tag goes on its own line.
    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.start_tag(name, attributes)?;
        self.depth += 1;
        Ok(())
    }

    pub fn close(&mut self, name: &str) -> io::Result<()> {
        self.depth -= 1;
        self.indent()?;
        write!(self.out, "</{name}>")
    }

    /// An element with text only, on one line.
    pub fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.leaf_with(name, &[], text)
    }

    pub fn leaf_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.start_tag(name, attributes)?;
        write!(self.out, "{}</{name}>", escape_text(text))
    }

    /// Ends the document (the root must be closed) and answers the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Python's `xml.sax.saxutils.quoteattr`: double quotes unless the value holds some
/// (then single quotes, or `&quot;` when it holds both kinds).
fn quote_attribute(value: &str) -> String {
    let escaped = escape_text(value).replace('\n', "&#10;").replace('\r', "&#13;").replace('\t', "&#9;");
    if !escaped.contains('"') {
        format!("\"{escaped}\"")
    } else if !escaped.contains('\'') {
        format!("'{escaped}'")
    } else {
        format!("\"{}\"", escaped.replace('"', "&quot;"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_quoted_as_python_does() {
        assert_eq!(quote_attribute("a<b & c"), "\"a&lt;b &amp; c\"");
        assert_eq!(quote_attribute("say \"hi\""), "'say \"hi\"'");
        assert_eq!(quote_attribute("it's \"x\""), "\"it's &quot;x&quot;\"");
        assert_eq!(quote_attribute("a\nb\t"), "\"a&#10;b&#9;\"");
    }

    #[test]
    fn layout_matches_cvat() {
        let mut xml = Xml::new(Vec::new()).unwrap();
        xml.open("annotations", &[]).unwrap();
        xml.leaf("version", "1.1").unwrap();
        xml.open("image", &[("id", "0")]).unwrap();
        xml.close("image").unwrap();
        xml.close("annotations").unwrap();
        let text = String::from_utf8(xml.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n  \
             <image id=\"0\">\n  </image>\n</annotations>\n"
        );
    }
}
