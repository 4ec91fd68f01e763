//! Backend choice. Everything is generic over burn's `Backend`; this module only maps the
//! `--backend` flag to a concrete type and device, once, at the edge.

use clap::ValueEnum;

/// burn's pure-Rust CPU backend (the default everywhere).
pub type Cpu = burn::backend::Flex;

#[cfg(feature = "wgpu")]
pub type Gpu = burn::backend::Wgpu;

#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

/// A backend's device by index, for `train --devices`; `primary` is the device the backend
/// was set up with (index 0).
pub trait Indexed: Sized {
    fn nth(primary: &Self, index: usize) -> anyhow::Result<Self>;
}

impl Indexed for burn::backend::flex::FlexDevice {
    fn nth(primary: &Self, index: usize) -> anyhow::Result<Self> {
        match index {
            0 => Ok(*primary),
            _ => anyhow::bail!(
                "the cpu backend has one device (0), not {index}; it already uses every core \
                 (list 0 twice to run two replicas on it)"
            ),
        }
    }
}

#[cfg(feature = "wgpu")]
impl Indexed for burn::backend::wgpu::WgpuDevice {
    /// Index 0 is the adapter wgpu prefers (usually the first discrete GPU), others count
    /// discrete GPUs in wgpu's order.
    fn nth(primary: &Self, index: usize) -> anyhow::Result<Self> {
        Ok(match index {
            0 => primary.clone(),
            i => burn::backend::wgpu::WgpuDevice::DiscreteGpu(i),
        })
    }
}

#[cfg(feature = "cuda")]
impl Indexed for burn::backend::cuda::CudaDevice {
    fn nth(_: &Self, index: usize) -> anyhow::Result<Self> {
        Ok(burn::backend::cuda::CudaDevice { index })
    }
}

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
                    let $device = $crate::backend::init_wgpu()?;
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
///
/// burn panics when no adapter exists (no Vulkan driver, no GPU); that panic is caught and
/// turned into an error that says what to install.
#[cfg(feature = "wgpu")]
pub fn init_wgpu() -> anyhow::Result<burn::backend::wgpu::WgpuDevice> {
    use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup, RuntimeOptions, WgpuDevice};
    use std::sync::OnceLock;
    static ADAPTER: OnceLock<Result<String, String>> = OnceLock::new();
    let device = WgpuDevice::DefaultDevice;
    let adapter = ADAPTER.get_or_init(|| {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let setup = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            init_setup::<AutoGraphicsApi>(&device, RuntimeOptions::default())
        }));
        std::panic::set_hook(quiet);
        match setup {
            Ok(setup) => {
                let info = setup.adapter.get_info();
                let name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
                eprintln!("wgpu adapter: {name}");
                Ok(name)
            }
            Err(panic) => Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown error".into())),
        }
    });
    match adapter {
        Ok(_) => Ok(device),
        Err(why) => anyhow::bail!(
            "the wgpu backend found no usable GPU adapter ({why}); install a Vulkan driver \
             (Debian: `apt-get install mesa-vulkan-drivers` for the CPU-only lavapipe) or use \
             `--backend cpu`"
        ),
    }
}
