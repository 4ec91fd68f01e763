//! Hand-written CPU kernels over plain slices, for the hot spots where burn's generic f32
//! path leaves speed on the table. Nothing in here knows about burn tensors: callers copy
//! data in and out, so the kernels can be tested, benchmarked and reused on their own.
//!
//! - [`int8`]: int8 × int8 → i32 matrix multiply for the linear layers at inference, with
//!   weights packed once and activations quantized per row at every call.
//! - [`gelu`]: the exact-erf GELU in a loop the compiler vectorises, for the int8
//!   feed-forward block whose activations are already on the host.

pub mod gelu;
pub mod int8;

pub use int8::{matmul, PackedI8};
