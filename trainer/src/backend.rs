//! Backend choice. Everything is generic over burn's `Backend`; this module only maps the
//! `--backend` flag to a concrete type and device, once, at the edge.

use clap::ValueEnum;

/// burn's pure-Rust CPU backend (the default everywhere).
pub type Cpu = burn::backend::Flex;

#[cfg(feature = "wgpu")]
pub type Gpu = burn::backend::Wgpu;

#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// burn-flex on the CPU.
    Cpu,
    /// burn-wgpu: Vulkan on Linux (lavapipe when there is no GPU), Metal, DX12.
    Wgpu,
    /// burn-cuda (build with `--features cuda`).
    Cuda,
}

/// Runs `$body` with `$B` bound to the backend type and `$device` to its device.
#[macro_export]
macro_rules! with_backend {
    ($kind:expr, |$B:ident, $device:ident| $body:expr) => {{
        match $kind {
            $crate::backend::BackendKind::Cpu => {
                type $B = $crate::backend::Cpu;
                let $device = Default::default();
                $body
            }
            $crate::backend::BackendKind::Wgpu => {
                #[cfg(feature = "wgpu")]
                {
                    type $B = $crate::backend::Gpu;
                    let $device = $crate::backend::init_wgpu();
                    $body
                }
                #[cfg(not(feature = "wgpu"))]
                {
                    anyhow::bail!("this build has no wgpu backend; rebuild with `--features wgpu`")
                }
            }
            $crate::backend::BackendKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    type $B = $crate::backend::Cuda;
                    let $device = Default::default();
                    $body
                }
                #[cfg(not(feature = "cuda"))]
                {
                    anyhow::bail!("this build has no CUDA backend; rebuild with `--features cuda` on a machine with the CUDA toolkit")
                }
            }
        }
    }};
}

/// Initialises the default wgpu device once and says which adapter it got, so a user on a
/// software rasteriser (lavapipe) knows why it is slow.
#[cfg(feature = "wgpu")]
pub fn init_wgpu() -> burn::backend::wgpu::WgpuDevice {
    use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup, RuntimeOptions, WgpuDevice};
    use std::sync::OnceLock;
    static ADAPTER: OnceLock<String> = OnceLock::new();
    let device = WgpuDevice::DefaultDevice;
    ADAPTER.get_or_init(|| {
        let setup = init_setup::<AutoGraphicsApi>(&device, RuntimeOptions::default());
        let info = setup.adapter.get_info();
        let name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
        eprintln!("wgpu adapter: {name}");
        name
    });
    device
}
