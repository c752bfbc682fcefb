//! # pf-proto: the gRPC contract of pressure_forecast
//!
//! The code generated from `proto/pressure_forecast/v1/*.proto` (module [`v1`]), the encoded descriptor set for
//! server reflection ([`FILE_DESCRIPTOR_SET`]), and the conversions between the wire messages and the engine's
//! types: incoming messages become engine types through `TryFrom` (bad input is a [`ConvertError`] naming the
//! field), outgoing engine values become messages through `From`.

pub mod convert;

/// Generated messages, the `ForecastService` server and client.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("pressure_forecast.v1");
}

/// The encoded `FileDescriptorSet` of the contract, for tonic-reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pressure_forecast_descriptor.bin"));

/// The full gRPC name of the service.
pub const SERVICE_NAME: &str = "pressure_forecast.v1.ForecastService";

pub use convert::{ConvertError, NewCase, parse_date, parse_optional_date};
