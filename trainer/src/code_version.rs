//! Which code a run was trained with: the git commit of the working directory, marked
//! `-dirty` when tracked files differ from it. Recorded in the run folder when training
//! starts and copied into the bundle's lineage at export, so a registry version can be traced
//! back to the exact source that produced it.

use std::path::Path;
use std::process::Command;

/// `git rev-parse HEAD` of the checkout around `dir` (plus `-dirty`), or `None` outside a
/// git checkout or without git: a missing commit is recorded as unknown, never invented.
pub fn git_commit(dir: &Path) -> Option<String> {
    let head = git(dir, &["rev-parse", "HEAD"])?;
    let changes = git(dir, &["status", "--porcelain", "--untracked-files=no"])?;
    Some(if changes.is_empty() {
        head
    } else {
        format!("{head}-dirty")
    })
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_checkout_has_a_forty_hex_commit() {
        // The crate is built from a git checkout (CI clones it).
        let c = git_commit(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("a git checkout");
        let hex = c.trim_end_matches("-dirty");
        assert_eq!(hex.len(), 40, "{c}");
        assert!(hex.chars().all(|ch| ch.is_ascii_hexdigit()), "{c}");
    }

    #[test]
    fn outside_a_checkout_is_unknown() {
        assert_eq!(git_commit(Path::new("/")), None);
    }
}
