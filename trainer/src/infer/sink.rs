//! Where answers go as they are computed: `jsonl` writes one object per line, `json` one
//! array (opened at the first item and closed at the end, so it streams too), `table` a
//! readable block per item. Every writer is flushed after each batch, so a consumer sees a
//! batch's answers as soon as they exist.

use std::io::{self, Write};

use serde_json::Value;

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One JSON array of the answers.
    Json,
    /// One JSON object per line, written as each batch finishes.
    Jsonl,
    /// Readable text (the default on a terminal).
    Table,
}

/// Receives the answers in input order.
pub trait Sink {
    /// One answer (or error item).
    fn item(&mut self, v: &Value) -> io::Result<()>;
    /// Called after each batch.
    fn flush(&mut self) -> io::Result<()>;
    /// Called once after the last item.
    fn finish(&mut self) -> io::Result<()>;
}

/// Renders item `n` (1-based) as text for the `table` format.
pub type Render = fn(usize, &Value) -> String;

/// The writer for `format`; `render` draws one item of the table.
pub fn sink<'a, W: Write + 'a>(format: OutputFormat, w: W, render: Render) -> Box<dyn Sink + 'a> {
    match format {
        OutputFormat::Json => Box::new(JsonArray { w, n: 0 }),
        OutputFormat::Jsonl => Box::new(JsonLines { w }),
        OutputFormat::Table => Box::new(Table { w, n: 0, render }),
    }
}

struct JsonLines<W> {
    w: W,
}

impl<W: Write> Sink for JsonLines<W> {
    fn item(&mut self, v: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v)?;
        self.w.write_all(b"\n")
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// `[` before the first item, `,` between items (one per line), `]` at the end.
struct JsonArray<W> {
    w: W,
    n: usize,
}

impl<W: Write> Sink for JsonArray<W> {
    fn item(&mut self, v: &Value) -> io::Result<()> {
        self.w
            .write_all(if self.n == 0 { b"[\n" } else { b",\n" })?;
        self.n += 1;
        Ok(serde_json::to_writer(&mut self.w, v)?)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w
            .write_all(if self.n == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.w.flush()
    }
}

struct Table<W> {
    w: W,
    n: usize,
    render: Render,
}

impl<W: Write> Sink for Table<W> {
    fn item(&mut self, v: &Value) -> io::Result<()> {
        self.n += 1;
        self.w.write_all((self.render)(self.n, v).as_bytes())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(format: OutputFormat, items: &[Value]) -> String {
        let mut out = Vec::new();
        {
            let mut s = sink(format, &mut out, |n, v| format!("{n}:{v}\n"));
            for v in items {
                s.item(v).unwrap();
            }
            s.finish().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_format_parses_back_to_the_items() {
        let items = [json!({"a": 1}), json!({"line": 2, "error": "x"})];
        let arr: Value = serde_json::from_str(&write(OutputFormat::Json, &items)).unwrap();
        assert_eq!(arr, json!(items));
        let empty: Value = serde_json::from_str(&write(OutputFormat::Json, &[])).unwrap();
        assert_eq!(empty, json!([]));
        let lines: Vec<Value> = write(OutputFormat::Jsonl, &items)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, items);
        assert_eq!(
            write(OutputFormat::Table, &items),
            "1:{\"a\":1}\n2:{\"error\":\"x\",\"line\":2}\n"
        );
    }
}
