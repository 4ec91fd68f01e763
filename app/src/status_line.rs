//! The one line that stands for the backend panel while it is collapsed: which backend runs
//! the model, which model, and whether it is ready. The page opens on the sentences, so this
//! line is all a class sees of the machinery until someone expands it.

/// Where loading stands, as the status line words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadState {
    /// Nothing known yet (the worker is starting or the size is unknown).
    Loading,
    /// Bytes of the bundle fetched so far, of the total.
    Downloading { loaded: u64, total: u64 },
    /// Loaded and idle.
    Ready,
    /// Loaded and computing (a run, a benchmark or a reload).
    Busy,
    /// The last load failed; the status under the input says why.
    Failed,
}

impl LoadState {
    /// The state from what the page knows: whether a model is loaded, whether something
    /// runs, whether the last load failed, and the download's progress.
    pub fn of(loaded: bool, busy: bool, failed: bool, progress: (u64, u64)) -> Self {
        match (loaded, busy, failed, progress) {
            (true, false, _, _) => LoadState::Ready,
            (true, true, _, _) => LoadState::Busy,
            (false, _, true, _) => LoadState::Failed,
            (false, _, false, (loaded, total)) if total > 0 => {
                LoadState::Downloading { loaded, total }
            }
            _ => LoadState::Loading,
        }
    }

    /// The words shown, e.g. "downloading 42%".
    pub fn words(self) -> String {
        match self {
            LoadState::Loading => "loading…".into(),
            LoadState::Downloading { loaded, total } => {
                let pct = (loaded.min(total) * 100) / total.max(1);
                format!("downloading {pct}%")
            }
            LoadState::Ready => "ready".into(),
            LoadState::Busy => "working…".into(),
            LoadState::Failed => "failed to load".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_model_is_ready_or_working_whatever_the_last_download_said() {
        assert_eq!(LoadState::of(true, false, true, (1, 2)), LoadState::Ready);
        assert_eq!(LoadState::of(true, true, false, (0, 0)).words(), "working…");
    }

    #[test]
    fn before_a_model_the_download_share_or_the_failure_is_shown() {
        let s = LoadState::of(false, true, false, (10_500_000, 24_000_000));
        assert_eq!(s.words(), "downloading 43%");
        assert_eq!(
            LoadState::of(false, true, false, (0, 0)).words(),
            "loading…"
        );
        assert_eq!(
            LoadState::of(false, false, true, (5, 10)).words(),
            "failed to load"
        );
        // A server that sends more than it announced never shows more than 100%.
        assert_eq!(
            LoadState::of(false, true, false, (12, 10)).words(),
            "downloading 100%"
        );
    }
}
