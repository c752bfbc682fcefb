//! ImportEvents: raw coded event rows turned into signals by `pf-events`, appended to a case atomically.

use pf_events::{Format, IngestOptions, Mapping};
use pf_proto::ConvertError;
use pf_proto::v1 as pb;

use crate::error::{Result, ServerError};
use crate::service::{ForecastApi, blocking, parse_as_of};

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

/// Event ingestion errors all come from the caller's text (rows, mapping): INVALID_ARGUMENT, with the
/// request field named.
fn import_error(field: &str, e: &pf_events::Error) -> ServerError {
    ServerError::Import(format!("field `{field}`: {e}"))
}

/// Run one ImportEvents call.
pub(crate) async fn import_events(
    api: &ForecastApi,
    req: pb::ImportEventsRequest,
) -> Result<pb::ImportEventsResponse> {
    if req.case_id.trim().is_empty() {
        return Err(ConvertError::invalid("case_id", "a non-empty id", "an empty string").into());
    }
    let format = format_from_proto(req.format)?;
    let as_of = parse_as_of("as_of", &req.as_of)?;
    let case = api.state().case(&req.case_id)?;
    let mapping = if req.mapping.trim().is_empty() {
        Mapping::default_mapping()
    } else {
        Mapping::from_toml_str(&req.mapping).map_err(|e| import_error("mapping", &e))?
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
    let report = blocking(move |_| {
        pf_events::ingest(text.as_bytes(), &mapping, &opts).map_err(|e| import_error("text", &e))
    })
    .await?;
    let (appended, forecast) = api
        .append_and_forecast(req.case_id, report.signals, as_of)
        .await?;
    Ok(pb::ImportEventsResponse {
        rows_read: report.rows_read,
        rows_matched: report.rows_matched,
        bad_rows: report
            .bad_rows
            .into_iter()
            .map(|b| pb::BadRow {
                line: b.line,
                reason: b.reason,
            })
            .collect(),
        added: u32::try_from(appended.added).unwrap_or(u32::MAX),
        unchanged: u32::try_from(appended.unchanged).unwrap_or(u32::MAX),
        forecast: Some(pb::Forecast::from(&forecast)),
    })
}
