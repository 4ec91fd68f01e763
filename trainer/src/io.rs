//! File helpers every part of the trainer writes through: atomic writes (a run killed at any
//! instant never leaves half a file that a later run would take for a finished one), JSON in
//! and out with the path in every error, and timestamps.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Writes next to the target and renames. A write that fails (a full disk) removes its
/// partial file, so the space it took is free again for whatever the caller does next.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = PathBuf::from(path);
    tmp.set_extension("partial");
    if let Err(e) = fs::write(&tmp, bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Pretty JSON, written atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// Compact JSON (one line), written atomically.
pub fn write_json_compact<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, serde_json::to_string(value)?.as_bytes())
}

/// Reads and parses a JSON file, naming it in either error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} does not parse", path.display()))
}

/// The complete lines of an append-only log (a missing file has none). A final line without
/// its newline is a write cut short by a kill and is left out.
pub fn complete_lines(path: &Path) -> Result<Vec<String>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    Ok(complete.lines().map(str::to_string).collect())
}

/// Appends one line to an append-only log, durably (written and synced before returning),
/// first cutting off a torn last line left by a killed writer. One writer at a time.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    use std::io::Write;
    cut_torn_tail(path)?;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("appending to {}", path.display()))
}

/// Truncates the file after its last newline.
fn cut_torn_tail(path: &Path) -> Result<()> {
    let Ok(bytes) = fs::read(path) else {
        return Ok(());
    };
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        let file = fs::File::options().write(true).open(path)?;
        file.set_len(keep as u64)?;
        file.sync_all()?;
    }
    Ok(())
}

/// RFC 3339 UTC timestamp without pulling in a date crate.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_hand_computed_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2000-03-01 (after a leap day in a century leap year) 12:34:56.
        assert_eq!(rfc3339(951_914_096), "2000-03-01T12:34:56Z");
        assert_eq!(now_rfc3339().len(), 20);
    }

    #[test]
    fn an_atomic_write_leaves_no_partial_file_and_json_round_trips() {
        let dir = std::env::temp_dir().join(format!("glassbox-io-{}", std::process::id()));
        let path = dir.join("a/b.json");
        write_json(&path, &vec![1, 2, 3]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), vec![1, 2, 3]);
        assert!(!dir.join("a/b.partial").exists());
        let err = read_json::<Vec<u32>>(&dir.join("none.json")).unwrap_err();
        assert!(format!("{err:#}").contains("none.json"), "{err:#}");
        fs::remove_dir_all(dir).unwrap();
    }
}
