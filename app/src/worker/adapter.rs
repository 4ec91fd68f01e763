//! Telling a software WebGPU adapter from a GPU. A software adapter (Chromium's SwiftShader,
//! Mesa's llvmpipe/lavapipe, Windows' WARP) runs WebGPU's kernels on the CPU through an
//! emulated GPU, about a hundred times slower than the page's own wasm CPU path, so the
//! runner only uses one when the address insists (`?backend=webgpu`).
//!
//! Pure, so it is tested natively; the probe in `runner` reads the words from the adapter.

/// Single words that name a software renderer in `GPUAdapterInfo`, and how to call them.
const SOFTWARE: [(&str, &str); 5] = [
    ("swiftshader", "SwiftShader"),
    ("llvmpipe", "llvmpipe"),
    ("lavapipe", "lavapipe"),
    ("softpipe", "softpipe"),
    ("cpu", "CPU"),
];

/// WARP's description on Windows ("Microsoft Basic Render Driver").
const WARP: &str = "basic render driver";

/// The software renderer an adapter is, from its `isFallbackAdapter` flag and the words of
/// its `info` (vendor, architecture, device, description); `None` for a GPU. Words are
/// matched whole, so "cpu" does not match inside a longer name.
pub fn software_renderer(is_fallback: bool, info: &[String]) -> Option<String> {
    let text = info.join(" ").to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let named = SOFTWARE
        .iter()
        .find(|(word, _)| words.contains(word))
        .map(|(_, name)| name.to_string())
        .or_else(|| text.contains(WARP).then(|| "WARP".to_string()));
    named.or_else(|| is_fallback.then(|| "a fallback adapter".to_string()))
}

/// Why the CPU runs instead of the software adapter `renderer`, for the backend panel.
pub fn software_reason(renderer: &str) -> String {
    format!(
        "WebGPU adapter is software ({renderer}): the CPU path is faster; ?backend=webgpu forces it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn software_renderers_are_named_from_the_adapter_info() {
        // What headless Chromium with --use-webgpu-adapter=swiftshader reports.
        let swiftshader = words(&["google", "swiftshader", "", "SwiftShader Device (Subzero)"]);
        assert_eq!(
            software_renderer(false, &swiftshader).as_deref(),
            Some("SwiftShader")
        );
        let mesa = words(&["mesa", "", "", "llvmpipe (LLVM 15.0.6, 256 bits)"]);
        assert_eq!(software_renderer(false, &mesa).as_deref(), Some("llvmpipe"));
        let warp = words(&["microsoft", "", "", "Microsoft Basic Render Driver"]);
        assert_eq!(software_renderer(false, &warp).as_deref(), Some("WARP"));
        assert_eq!(
            software_renderer(false, &words(&["x", "cpu"])).as_deref(),
            Some("CPU")
        );
    }

    #[test]
    fn a_fallback_adapter_is_software_even_when_its_info_names_nothing() {
        assert_eq!(
            software_renderer(true, &[]).as_deref(),
            Some("a fallback adapter")
        );
        assert_eq!(
            software_renderer(true, &words(&["google", "swiftshader"])).as_deref(),
            Some("SwiftShader")
        );
    }

    #[test]
    fn gpus_are_not_software() {
        for gpu in [
            &["nvidia", "ampere", "", "NVIDIA GeForce RTX 3080"][..],
            &["apple", "metal-3", "", ""],
            &["intel", "gen-12lp", "", "Intel(R) Iris(R) Xe Graphics"],
            // "cpu" only as a whole word.
            &["acme", "cpufreq-aware", "", "ACMEcpu GPU"],
        ] {
            assert_eq!(software_renderer(false, &words(gpu)), None, "{gpu:?}");
        }
    }

    #[test]
    fn the_reason_names_the_renderer_and_the_way_to_force_webgpu() {
        assert_eq!(
            software_reason("SwiftShader"),
            "WebGPU adapter is software (SwiftShader): the CPU path is faster; ?backend=webgpu forces it"
        );
    }
}
