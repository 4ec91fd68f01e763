//! What the fuzz targets (fuzz_targets/) share.

/// A reader's error must name a line the input has: the first, the last, or one between.
pub fn assert_line_within(line: usize, text: &str) {
    let lines = text.lines().count();
    assert!(
        line >= 1 && line <= lines,
        "error at line {line} of {lines}"
    );
}
