//! # pf-proto: the gRPC contract of pressure_forecast
//!
//! The messages generated from `proto/pressureforecast/v1/*.proto` (module [`v1`], package
//! `pressureforecast.v1`), `google.type.Date` (module [`google::r#type`]), the encoded descriptor set for server
//! reflection ([`FILE_DESCRIPTOR_SET`]), and the conversions between the wire messages and the engine's types
//! ([`convert`]): incoming messages become engine types through `TryFrom` (bad input is a [`ConvertError`]
//! naming the field by its path, `signals[2].date`), engine values become messages through `From`.
//!
//! The messages need only prost; the tonic client and server (`v1::forecast_service_client`,
//! `v1::forecast_service_server`) come with the `grpc` feature, so that the Python extension can decode
//! responses without linking tonic.

pub mod convert;

/// Generated code of the `pressureforecast` proto package.
pub mod pressureforecast {
    /// Messages of `pressureforecast.v1` and, with the `grpc` feature, the `ForecastService` client and server.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/pressureforecast.v1.rs"));
    }
}

/// The vendored Google protos the contract uses.
pub mod google {
    /// `google.type`: `Date`.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod r#type {
        include!(concat!(env!("OUT_DIR"), "/google.r#type.rs"));
    }
}

pub use pressureforecast::v1;

/// The encoded `FileDescriptorSet` of the contract (its imports included), for tonic-reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pressureforecast_descriptor.bin"));

/// The proto package of the contract.
pub const PACKAGE: &str = "pressureforecast.v1";

/// The full gRPC name of the service.
pub const SERVICE_NAME: &str = "pressureforecast.v1.ForecastService";

pub use convert::{ConvertError, NewCase};
