//! ImportEvents: raw coded event rows turned into signals by `pf-events`. The service appends them
//! (`service.rs` calls this module; this module calls nothing of the service).

use pf_core::Case;
use pf_events::{Format, IngestOptions, IngestReport, Mapping};
use pf_proto::ConvertError;
use pf_proto::v1 as pb;

use crate::error::{Result, ServerError};
use crate::work::blocking;

fn format_from_proto(value: i32) -> Result<Format> {
    match pb::EventFormat::try_from(value) {
        Ok(pb::EventFormat::Icews) => Ok(Format::Icews),
        Ok(pb::EventFormat::Gdelt1) => Ok(Format::Gdelt1),
        Ok(pb::EventFormat::Gdelt2) => Ok(Format::Gdelt2),
        Ok(pb::EventFormat::Csv) => Ok(Format::Csv),
        Ok(pb::EventFormat::Unspecified) | Err(_) => Err(ConvertError::invalid(
            "format",
            "EVENT_FORMAT_ICEWS, EVENT_FORMAT_GDELT1, EVENT_FORMAT_GDELT2 or EVENT_FORMAT_CSV",
            value,
        )
        .into()),
    }
}

/// Read the request's rows into signals for `case` (on a blocking thread). Ingestion errors all come from the
/// caller's text: [`ServerError::Import`] naming the field (`text` or `mapping`).
///
/// # Errors
/// A bad format, mapping or (with `strict`) row.
pub(crate) async fn read_events(case: &Case, req: pb::ImportEventsRequest) -> Result<IngestReport> {
    let format = format_from_proto(req.format)?;
    let mapping = if req.mapping.trim().is_empty() {
        Mapping::default_mapping()
    } else {
        Mapping::from_toml_str(&req.mapping).map_err(|source| ServerError::Import {
            field: "mapping",
            source,
        })?
    };
    let pick = |given: String, default: &str| {
        if given.trim().is_empty() {
            default.to_owned()
        } else {
            given
        }
    };
    let mut opts = IngestOptions::new(
        format,
        pick(req.sender, &case.sender),
        pick(req.target, &case.target),
    );
    opts.start = Some(case.start);
    opts.end = Some(case.term_end);
    opts.strict = req.strict;
    let text = req.text;
    blocking(move |_| {
        pf_events::ingest(text.as_bytes(), &mapping, &opts).map_err(|source| ServerError::Import {
            field: "text",
            source,
        })
    })
    .await
}

/// The bad rows of a report as messages.
pub(crate) fn bad_rows(report: &IngestReport) -> Vec<pb::BadRow> {
    report
        .bad_rows
        .iter()
        .map(|b| pb::BadRow {
            line: b.line,
            reason: b.reason.clone(),
        })
        .collect()
}
