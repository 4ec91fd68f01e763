//! Where the texts of `glassbox predict`, `embed` and `attention` come from: the arguments,
//! a file or standard input, one text per line or JSON Lines. Lines are read one at a time
//! as raw bytes, so a 10,000-line file is never held whole, and a line that is not UTF-8 or
//! not valid JSON becomes an error item at its position instead of ending the run.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

/// How an input file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One text per line.
    Lines,
    /// One JSON object per line with a string `text`; its other fields come back as `id`.
    Jsonl,
}

impl InputFormat {
    /// `.jsonl` files are JSON Lines; any other file, and standard input, one text per line.
    pub fn detect(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") => InputFormat::Jsonl,
            _ => InputFormat::Lines,
        }
    }
}

/// One input: a text, or why the line at this position could not be read as one.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// 1-based line of the file, or position among the arguments.
    pub line: usize,
    /// How messages name the item: `FILE:LINE`, `stdin:LINE` or `text #N`.
    pub at: String,
    /// The text, or what is wrong with the line (without the location).
    pub text: Result<String, String>,
    /// A JSONL line's fields other than `text`, passed through to its answer.
    pub id: Option<Value>,
}

/// The items of one input, in order; an `Err` is a failure to read at all (fatal).
pub type Items = Box<dyn Iterator<Item = io::Result<Item>>>;

/// The command-line texts as items. Arguments that are not UTF-8 are error items too.
pub fn from_args(texts: Vec<OsString>) -> Items {
    Box::new(texts.into_iter().enumerate().map(|(i, t)| {
        Ok(Item {
            line: i + 1,
            at: format!("text #{}", i + 1),
            text: t
                .into_string()
                .map_err(|_| "the text is not valid UTF-8".to_string()),
            id: None,
        })
    }))
}

/// Opens `path` (`-`: standard input) as items. With `progress` and a file on a terminal's
/// stderr, a bar counts the bytes read; the caller finishes it.
pub fn open(
    path: &Path,
    format: Option<InputFormat>,
    progress: bool,
) -> Result<(Items, Option<ProgressBar>)> {
    let format = format.unwrap_or_else(|| InputFormat::detect(path));
    if path.as_os_str() == "-" {
        let stdin = io::stdin().lock();
        return Ok((Box::new(lines(stdin, "stdin".into(), format)), None));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let name = path.display().to_string();
    let bar = (progress && io::stderr().is_terminal()).then(|| bytes_bar(&file));
    let read: Box<dyn Read> = match &bar {
        Some(b) => Box::new(b.wrap_read(file)),
        None => Box::new(file),
    };
    Ok((Box::new(lines(BufReader::new(read), name, format)), bar))
}

/// A bar over the file's size in bytes (lines are not known until read).
fn bytes_bar(file: &File) -> ProgressBar {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let style = ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} [{wide_bar}] {elapsed} (eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style)
}

/// The lines of `reader` as items, read one at a time.
pub fn lines<R: BufRead + 'static>(
    mut reader: R,
    name: String,
    format: InputFormat,
) -> impl Iterator<Item = io::Result<Item>> {
    let mut line = 0;
    let mut buf = Vec::new();
    std::iter::from_fn(move || {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                line += 1;
                Some(Ok(parse_line(strip_eol(&buf), &name, line, format)))
            }
            Err(e) => Some(Err(e)),
        }
    })
}

/// The line without its `\n` or `\r\n`.
fn strip_eol(buf: &[u8]) -> &[u8] {
    let b = buf.strip_suffix(b"\n").unwrap_or(buf);
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn parse_line(raw: &[u8], name: &str, line: usize, format: InputFormat) -> Item {
    let (text, id) = match std::str::from_utf8(raw) {
        Err(e) => (
            Err(format!(
                "the line is not valid UTF-8 (bad byte at column {})",
                e.valid_up_to() + 1
            )),
            None,
        ),
        Ok(s) => match format {
            InputFormat::Lines => (Ok(s.to_string()), None),
            InputFormat::Jsonl => parse_jsonl(s),
        },
    };
    Item {
        line,
        at: format!("{name}:{line}"),
        text,
        id,
    }
}

/// A JSONL line: `{"text": ..., other fields}`. The other fields come back as `id`: the value
/// of `id` itself when that is the only one, else an object of them all.
fn parse_jsonl(s: &str) -> (Result<String, String>, Option<Value>) {
    if s.trim().is_empty() {
        return (Err("empty line (expected a JSON object)".into()), None);
    }
    let mut obj: Map<String, Value> = match serde_json::from_str(s) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return (
                Err("expected a JSON object with a `text` field".into()),
                None,
            )
        }
        Err(e) => return (Err(format!("malformed JSON: {e}")), None),
    };
    let text = obj.remove("text");
    let id = match obj.len() {
        0 => None,
        1 if obj.contains_key("id") => obj.remove("id"),
        _ => Some(Value::Object(obj)),
    };
    let text = match text {
        Some(Value::String(t)) => Ok(t),
        Some(_) => Err("the `text` field is not a string".into()),
        None => Err("the object has no `text` field".into()),
    };
    (text, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(bytes: &[u8], format: InputFormat) -> Vec<Item> {
        lines(io::Cursor::new(bytes.to_vec()), "f".into(), format)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn lines_keep_positions_and_flag_bad_utf8() {
        let items = read(b"one\r\n\n-two\n\xff\xfe x\nlast", InputFormat::Lines);
        let texts: Vec<_> = items.iter().map(|i| i.text.clone()).collect();
        assert_eq!(texts[0], Ok("one".into()));
        assert_eq!(texts[1], Ok("".into()), "blank lines reach the tokenizer");
        assert_eq!(texts[2], Ok("-two".into()));
        assert!(texts[3].as_ref().unwrap_err().contains("column 1"));
        assert_eq!(texts[4], Ok("last".into()));
        assert_eq!(items[3].at, "f:4");
        assert_eq!(
            items.iter().map(|i| i.line).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn jsonl_passes_other_fields_through_as_id() {
        let src = b"{\"text\":\"a\",\"id\":7}\n{\"text\":\"b\",\"k\":1,\"id\":\"x\"}\n{\"text\":\"c\"}\n{\"text\":3}\n{oops\n[1]\n\n";
        let items = read(src, InputFormat::Jsonl);
        assert_eq!(
            (items[0].text.clone(), items[0].id.clone()),
            (Ok("a".into()), Some(json!(7)))
        );
        assert_eq!(items[1].id, Some(json!({"k": 1, "id": "x"})));
        assert_eq!(items[2].id, None);
        assert!(items[3].text.as_ref().unwrap_err().contains("not a string"));
        assert!(items[4]
            .text
            .as_ref()
            .unwrap_err()
            .contains("malformed JSON"));
        assert!(items[5].text.as_ref().unwrap_err().contains("JSON object"));
        assert!(items[6].text.as_ref().unwrap_err().contains("empty line"));
        assert_eq!(items.len(), 7);
    }

    #[test]
    fn format_is_detected_by_extension() {
        assert_eq!(
            InputFormat::detect(Path::new("a/b.JSONL")),
            InputFormat::Jsonl
        );
        assert_eq!(
            InputFormat::detect(Path::new("a/b.txt")),
            InputFormat::Lines
        );
        assert_eq!(InputFormat::detect(Path::new("-")), InputFormat::Lines);
    }
}
