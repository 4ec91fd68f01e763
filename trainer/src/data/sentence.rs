//! Sentence-task data: CSV with a header (text and label columns named in the task config)
//! or JSONL with one `{"text": …, "label": …}` object per line.

use serde_json::Value;

use super::error::{err, DataError};

#[derive(Debug, Clone, PartialEq)]
pub struct SentenceExample {
    pub text: String,
    pub label: String,
    /// Optional per-example weight or confidence (e.g. annotator agreement).
    pub confidence: Option<f64>,
    /// 1-based line where the record starts.
    pub line: usize,
}

/// Columns of a CSV file; `confidence` is optional.
#[derive(Debug, Clone)]
pub struct CsvColumns<'a> {
    pub text: &'a str,
    pub label: &'a str,
    pub confidence: Option<&'a str>,
}

pub fn parse_csv(
    bytes: &[u8],
    source: &str,
    cols: &CsvColumns,
) -> Result<Vec<SentenceExample>, DataError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = rdr
        .byte_headers()
        .map_err(|e| err(source, 1, format!("header: {e}")))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| {
                let have: Vec<String> = headers
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).into_owned())
                    .collect();
                err(source, 1, format!("no column {name:?} (columns: {have:?})"))
            })
    };
    let (ti, li) = (find(cols.text)?, find(cols.label)?);
    let ci = cols.confidence.map(find).transpose()?;
    let mut out = Vec::new();
    for rec in records(&mut rdr, bytes) {
        let (line, rec) = rec.map_err(|(line, e)| err(source, line, e.to_string()))?;
        let field = |i: usize| decode_text(rec.get(i).unwrap_or_default());
        let label = field(li).trim().to_string();
        if label.is_empty() {
            return Err(err(source, line, "empty label"));
        }
        let confidence = match ci {
            None => None,
            Some(i) => {
                // An empty confidence means "not rated", not an error.
                let raw = field(i);
                match raw.trim() {
                    "" => None,
                    v => Some(v.parse::<f64>().map_err(|_| {
                        err(source, line, format!("confidence {raw:?} is not a number"))
                    })?),
                }
            }
        };
        out.push(SentenceExample {
            text: field(ti),
            label,
            confidence,
            line,
        });
    }
    Ok(out)
}

/// Every record of a CSV file with the 1-based line it starts on, or the error with its line.
/// Lines are counted as an editor counts them: `\r\n`, `\n` and a lone `\r` each end one.
/// csv's own record positions count `\n` only, so records of a CRLF file came out one line
/// early and those of a CR-only file all on line 1 (found by the fuzz target `sentences`).
pub fn records<'a>(
    rdr: &'a mut csv::Reader<&'a [u8]>,
    bytes: &'a [u8],
) -> impl Iterator<Item = Result<(usize, csv::ByteRecord), (usize, csv::Error)>> + 'a {
    let mut lines = LineCounter {
        bytes,
        at: 0,
        line: 1,
    };
    rdr.byte_records().map(move |rec| match rec {
        Ok(r) => Ok((r.position().map_or(0, |p| lines.line_at(p.byte())), r)),
        Err(e) => Err((e.position().map_or(0, |p| lines.line_at(p.byte())), e)),
    })
}

/// Counts line ends up to a byte offset, carrying on from the last offset asked for (records
/// come in order, so a whole file is read once).
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, byte: u64) -> usize {
        let to = (byte as usize).min(self.bytes.len());
        for i in self.at..to {
            let ends_line = match self.bytes[i] {
                b'\r' => true,
                b'\n' => i == 0 || self.bytes[i - 1] != b'\r',
                _ => false,
            };
            self.line += usize::from(ends_line);
        }
        self.at = self.at.max(to);
        self.line
    }
}

/// UTF-8 when the bytes are UTF-8, Latin-1 otherwise (every byte is a Latin-1 character, so
/// nothing is lost; repairing mojibake is the cleaner's job, where it can be counted).
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

pub fn parse_jsonl(text: &str, source: &str) -> Result<Vec<SentenceExample>, DataError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(raw).map_err(|e| err(source, line, format!("not JSON: {e}")))?;
        let get = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| err(source, line, format!("missing string field {k:?}")))
        };
        out.push(SentenceExample {
            text: get("text")?,
            label: get("label")?,
            confidence: v.get("confidence").and_then(Value::as_f64),
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: CsvColumns = CsvColumns {
        text: "text",
        label: "sentiment",
        confidence: Some("confidence"),
    };

    #[test]
    fn csv_with_quoted_multiline_field_keeps_start_lines() {
        let csv = b"sentiment,confidence,text\nnegative,0.75,plain\npositive,1,\"two\nlines, with comma\"\nneutral,0.5,last\n";
        let ex = parse_csv(csv, "t.csv", &COLS).unwrap();
        assert_eq!(ex.len(), 3);
        assert_eq!(ex[1].text, "two\nlines, with comma");
        assert_eq!(ex[1].label, "positive");
        assert_eq!(ex[1].confidence, Some(1.0));
        assert_eq!((ex[0].line, ex[1].line, ex[2].line), (2, 3, 5));
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let e = parse_csv(b"sentiment,confidence,text\nneg,abc,x\n", "s.csv", &COLS).unwrap_err();
        assert_eq!((e.source.as_str(), e.line), ("s.csv", 2));
        let e = parse_csv(b"label,text\nneg,x\n", "s.csv", &COLS).unwrap_err();
        assert!(e.message.contains("no column \"sentiment\""), "{e}");
        let e = parse_csv(
            b"sentiment,confidence,text\nneg,1,x\npos,1\n",
            "s.csv",
            &COLS,
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn crlf_and_cr_files_report_the_same_lines_as_lf_files() {
        // Found by the fuzz target `sentences`: csv put CRLF records one line early, and
        // every record of a CR-only file on line 1.
        let lf = "sentiment,confidence,text\nnegative,0.75,plain\npositive,1,\"two\nlines\"\nneutral,0.5,last\n";
        let crlf = lf.replace('\n', "\r\n");
        let lines = |text: &str| -> Vec<usize> {
            let ex = parse_csv(text.as_bytes(), "t.csv", &COLS).unwrap();
            ex.iter().map(|e| e.line).collect()
        };
        assert_eq!(lines(lf), [2, 3, 5]);
        assert_eq!(lines(&crlf), [2, 3, 5]);
        let cr = lf.replace('\n', "\r");
        assert_eq!(lines(&cr), [2, 3, 5]);
        let empty = b"sentiment,confidence,text\r\nneg,1,x\r\n,1,y\r\n";
        let e = parse_csv(empty, "s.csv", &COLS).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (3, "empty label"));
        let short = b"sentiment,confidence,text\r\nneg,1,x\r\npos,1\r\n";
        assert_eq!(parse_csv(short, "s.csv", &COLS).unwrap_err().line, 3);
    }

    #[test]
    fn latin1_bytes_decode_without_loss() {
        assert_eq!(decode_text(b"caf\xe9"), "café");
        assert_eq!(decode_text("café".as_bytes()), "café");
    }

    #[test]
    fn jsonl_reads_and_reports_bad_lines() {
        let ok = parse_jsonl("{\"text\":\"hi\",\"label\":\"pos\"}\n\n{\"text\":\"yo\",\"label\":\"neg\",\"confidence\":0.5}\n", "d.jsonl").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].line, 3);
        assert_eq!(ok[1].confidence, Some(0.5));
        let e = parse_jsonl("{\"text\":\"hi\"}\n", "d.jsonl").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("label"), "{e}");
        let e = parse_jsonl("{\"text\":\"hi\",\"label\":\"p\"}\nnope\n", "d.jsonl").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
