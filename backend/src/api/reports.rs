//! `/api/v1/reports`: the tenant's reports (list, create, read, edit, delete).
//!
//! Every query runs in the caller's tenant transaction and filters on the caller's tenant as well. A report
//! of another tenant, an id that names nothing and an id that is not a uuid all answer the same 404, so the
//! API reveals nothing about other tenants. Editing is for the author and admins; deleting for admins; the
//! `basic` plan holds a limited number of reports, counted under a lock on the tenant row so that concurrent
//! creations cannot exceed it.

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::api::{AuditAction, MemberRef, NewReport, Report, ReportPage, ReportPatch};
use shared::scope::is_maker_or_admin;
use shared::{ErrorBody, Scope};
use time::OffsetDateTime;

use super::paging::{self, PageQuery, rfc3339};
use super::{PathId, current_tenant, lock_tenant};
use crate::auth::{Principal, ScopedRouter};
use crate::client_ip::ClientIp;
use crate::db::audit::{self, NewEvent, Target};
use crate::db::{self, Keyset, TenantTx};
use crate::error::{ApiError, AppJson, AppQuery};
use crate::state::AppState;

/// The longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// The longest body, in characters.
pub const BODY_MAX_CHARS: usize = 20_000;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state)
        .get("/reports", Scope::Read, list)
        .post("/reports", Scope::Write, create)
        .get("/reports/export.csv", Scope::Read, export)
        .get("/reports/{id}", Scope::Read, read)
        .patch("/reports/{id}", Scope::Write, edit)
        .delete("/reports/{id}", Scope::Admin, remove)
}

/// One page of the tenant's reports, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "reports",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of reports, newest first.", body = ReportPage),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn list(
    mut tx: TenantTx,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<AppJson<ReportPage>, ApiError> {
    let limit = paging::page_size(query.limit)?;
    let after = paging::decode_cursor::<Keyset>(query.cursor.as_deref())?;
    // One more than asked tells whether another page follows.
    let mut reports = db::reports::list(&mut tx, after, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = paging::next_cursor(&mut reports, limit, |report| Keyset {
        at: report.created_at,
        id: report.id,
    })?;
    let items = reports.into_iter().map(to_wire).collect::<Result<_, _>>()?;
    Ok(AppJson(ReportPage { items, next_cursor }))
}

/// Creates a report written by the caller: 201 with its `Location`.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "reports",
    request_body = NewReport,
    responses(
        (status = 201, description = "The report, with its `Location`.", body = Report),
        (status = 403, description = "The plan's report limit is reached (`plan_limit_reached`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn create(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    AppJson(new): AppJson<NewReport>,
) -> Result<Response, ApiError> {
    let title = validate_title(&new.title)?;
    validate_body(&new.body)?;
    let tenant = lock_tenant(&mut tx).await?;
    if let Some(limit) = tenant.plan.report_limit()
        && db::reports::count(&mut tx).await? >= limit
    {
        return Err(ApiError::PlanLimitReached);
    }
    let report = db::reports::create(&mut tx, principal.member_id, title, &new.body).await?;
    let event = NewEvent {
        action: AuditAction::ReportCreated,
        actor: Some(principal.audit_actor()),
        target: Some(report_target(report.id, &report.title)),
        details: serde_json::json!({}),
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    let location = HeaderValue::try_from(format!("/api/v1/reports/{}", report.id))
        .map_err(ApiError::internal)?;
    let body = to_wire(report)?;
    Ok((StatusCode::CREATED, [(LOCATION, location)], AppJson(body)).into_response())
}

/// One report of the caller's tenant.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report id.")),
    responses(
        (status = 200, description = "The report.", body = Report),
    )
)]
async fn read(mut tx: TenantTx, PathId(id): PathId) -> Result<AppJson<Report>, ApiError> {
    let report = db::reports::get(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(AppJson(to_wire(report)?))
}

/// Changes the given fields of a report; only its author or an admin may.
#[utoipa::path(
    patch,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report id.")),
    request_body = ReportPatch,
    responses(
        (status = 200, description = "The changed report.", body = Report),
        (status = 403, description = "Neither the author nor an admin (`not_permitted`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; the message names it (`invalid_request`).", body = ErrorBody),
    )
)]
async fn edit(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
    AppJson(patch): AppJson<ReportPatch>,
) -> Result<AppJson<Report>, ApiError> {
    let title = patch.title.as_deref().map(validate_title).transpose()?;
    if let Some(body) = &patch.body {
        validate_body(body)?;
    }
    // The existence check comes before the permission check, so that a report the caller may not edit and a
    // report that does not exist stay distinguishable only within the caller's own tenant.
    let current = db::reports::lock(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !is_maker_or_admin(&current.author_id, &principal.member_id, &principal.scopes) {
        return Err(ApiError::NotPermitted);
    }
    let updated = db::reports::update(&mut tx, id, title, patch.body.as_deref())
        .await?
        .ok_or(ApiError::NotFound)?;
    // What changed, and nothing when nothing did: the title's old and new wording, the text only as edited
    // (it can be long, and the report itself shows it).
    let mut changes = serde_json::Map::new();
    if updated.title != current.title {
        changes.insert(
            "title".to_owned(),
            serde_json::json!({ "from": current.title, "to": updated.title }),
        );
    }
    if updated.body != current.body {
        changes.insert("text".to_owned(), serde_json::json!("edited"));
    }
    if !changes.is_empty() {
        let event = NewEvent {
            action: AuditAction::ReportEdited,
            actor: Some(principal.audit_actor()),
            target: Some(report_target(id, &updated.title)),
            details: serde_json::Value::Object(changes),
            source_ip,
        };
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(AppJson(to_wire(updated)?))
}

/// Deletes a report (the route requires the admin scope): 204. The deletion is audited in the same
/// transaction.
#[utoipa::path(
    delete,
    path = "/api/v1/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report id.")),
    responses(
        (status = 204, description = "Deleted (and audited)."),
    )
)]
async fn remove(
    principal: Principal,
    mut tx: TenantTx,
    ClientIp(source_ip): ClientIp,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let title = db::reports::delete(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let event = NewEvent {
        action: AuditAction::ReportDeleted,
        actor: Some(principal.audit_actor()),
        target: Some(report_target(id, &title)),
        details: serde_json::json!({}),
        source_ip,
    };
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit target naming a report by its title (as it was when the event happened).
fn report_target(id: impl ToString, title: &str) -> Target {
    Target {
        kind: "report",
        id: id.to_string(),
        label: title.to_owned(),
    }
}

/// Every report of the tenant as CSV (plans with CSV export only; the plan is read from the database).
#[utoipa::path(
    get,
    path = "/api/v1/reports/export.csv",
    tag = "reports",
    responses(
        (status = 200, description = "Every report as CSV (formula-like cells neutralised).", content_type = "text/csv", body = String),
        (status = 403, description = "The plan has no CSV export (`plan_feature_unavailable`).", body = ErrorBody),
    )
)]
async fn export(mut tx: TenantTx) -> Result<Response, ApiError> {
    let tenant = current_tenant(&mut tx).await?;
    if !tenant.plan.has_csv_export() {
        return Err(ApiError::PlanFeatureUnavailable);
    }
    let reports = db::reports::all(&mut tx).await?;
    tx.commit().await?;
    let csv = reports_csv(&reports)?;
    let date = OffsetDateTime::now_utc().date();
    // The slug matches `^[a-z][a-z0-9-]*$` (a table constraint), so it needs no quoting in the header.
    let disposition = HeaderValue::try_from(format!(
        "attachment; filename=\"reports-{}-{date}.csv\"",
        tenant.slug
    ))
    .map_err(ApiError::internal)?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

/// The CSV document of `reports`: a header row, then one row per report. Every field is quoted, and text
/// that a spreadsheet could read as a formula is neutralised (see [`spreadsheet_safe`]).
fn reports_csv(reports: &[db::reports::Report]) -> Result<Vec<u8>, ApiError> {
    // Quoting every field keeps separators and line breaks inside a cell for any reader that honours quotes;
    // `spreadsheet_safe` covers the readers that split cells anyway (another delimiter, a naive import).
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    writer
        .write_record(["id", "title", "body", "author", "created_at", "updated_at"])
        .map_err(ApiError::internal)?;
    for report in reports {
        let id = report.id.to_string();
        let created_at = rfc3339(report.created_at)?;
        let updated_at = rfc3339(report.updated_at)?;
        writer
            .write_record([
                id.as_str(),
                &spreadsheet_safe(&report.title),
                &spreadsheet_safe(&report.body),
                &spreadsheet_safe(&report.author_name),
                &created_at,
                &updated_at,
            ])
            .map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(ApiError::internal)
}

/// Characters with which a spreadsheet cell starts a formula (or, for tab and carriage return, which some
/// programs skip before looking for one): OWASP's list for CSV injection.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Characters after which a spreadsheet may start a new cell when it does not read the file as we wrote it:
/// field separators (`,`, `;`, tab: the delimiter depends on the program and the locale), line breaks, and
/// the quotes that a lenient parser may take as the end of a quoted field.
const CELL_BREAKS: [char; 7] = [',', ';', '\t', '\r', '\n', '"', '\''];

/// A cell value that spreadsheet programs will not evaluate, following OWASP's advice against CSV
/// injection: a `'` goes before every formula start ([`FORMULA_STARTS`]) that begins the text or follows a
/// [`CELL_BREAKS`] character, spaces in between included (some imports trim them). Checking only the first
/// character is not enough: `a;=1+1` opened with `;` as the delimiter is the cells `a` and `=1+1`. Text
/// elsewhere stays as written, so `Costs - Q3` or `down -5%` read as before.
pub(super) fn spreadsheet_safe(value: &str) -> std::borrow::Cow<'_, str> {
    // Whether the next formula start would begin a cell: at the start, and after a cell break and any spaces.
    let mut at_cell_start = true;
    let mut safe = String::new();
    let mut copied = 0;
    for (index, c) in value.char_indices() {
        if at_cell_start && FORMULA_STARTS.contains(&c) {
            safe.push_str(&value[copied..index]);
            safe.push('\'');
            copied = index;
        }
        // Tab and carriage return are both formula starts and cell breaks: the one after them is checked too.
        at_cell_start = CELL_BREAKS.contains(&c) || (at_cell_start && c == ' ');
    }
    // Every insertion pushed a quote: an empty buffer means nothing needed one.
    if safe.is_empty() {
        return std::borrow::Cow::Borrowed(value);
    }
    safe.push_str(&value[copied..]);
    std::borrow::Cow::Owned(safe)
}

/// The title without surrounding whitespace, if it has 1 to [`TITLE_MAX_CHARS`] characters.
fn validate_title(title: &str) -> Result<&str, ApiError> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > TITLE_MAX_CHARS {
        return Err(ApiError::unprocessable(format!(
            "title must be between 1 and {TITLE_MAX_CHARS} characters (not counting surrounding spaces)."
        )));
    }
    Ok(title)
}

/// `Ok` if the body has at most [`BODY_MAX_CHARS`] characters.
fn validate_body(body: &str) -> Result<(), ApiError> {
    if body.chars().count() > BODY_MAX_CHARS {
        return Err(ApiError::unprocessable(format!(
            "body must be at most {BODY_MAX_CHARS} characters."
        )));
    }
    Ok(())
}

/// The wire form of a report.
fn to_wire(report: db::reports::Report) -> Result<Report, ApiError> {
    Ok(Report {
        id: report.id.to_string(),
        title: report.title,
        body: report.body,
        author: MemberRef {
            id: report.author_id.to_string(),
            name: report.author_name,
        },
        created_at: rfc3339(report.created_at)?,
        updated_at: rfc3339(report.updated_at)?,
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::db::{MemberId, TenantId};

    fn report_at(created_at: OffsetDateTime) -> db::reports::Report {
        db::reports::Report {
            id: Uuid::new_v4(),
            tenant_id: TenantId(Uuid::new_v4()),
            author_id: MemberId(Uuid::new_v4()),
            author_name: "A".into(),
            title: "t".into(),
            body: String::new(),
            created_at,
            updated_at: created_at,
        }
    }

    #[test]
    fn titles_are_trimmed_and_bounded_and_bodies_bounded() {
        assert_eq!(validate_title("  Q3 numbers ").unwrap(), "Q3 numbers");
        assert!(validate_title("   ").is_err());
        assert!(validate_title(&"é".repeat(TITLE_MAX_CHARS)).is_ok());
        assert!(validate_title(&"é".repeat(TITLE_MAX_CHARS + 1)).is_err());
        assert!(validate_body(&"x".repeat(BODY_MAX_CHARS)).is_ok());
        assert!(validate_body(&"x".repeat(BODY_MAX_CHARS + 1)).is_err());
    }

    /// OWASP's formula starts, and payloads known to run commands through DDE.
    const PAYLOADS: [&str; 9] = [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(1+1)",
        "\t=1+1",
        "\r=1+1",
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!E2",
    ];

    #[test]
    fn a_cell_starting_with_a_formula_start_gets_a_leading_quote() {
        for start in ['=', '+', '-', '@', '\t', '\r'] {
            let value = format!("{start}x");
            assert_eq!(spreadsheet_safe(&value), format!("'{value}"), "{value:?}");
        }
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("@SUM(1+1)"), "'@SUM(1+1)");
        assert_eq!(
            spreadsheet_safe("=cmd|' /C calc'!A0"),
            "'=cmd|' /C calc'!A0"
        );
        assert_eq!(
            spreadsheet_safe("@SUM(1+1)*cmd|' /C calc'!A0"),
            "'@SUM(1+1)*cmd|' /C calc'!A0"
        );
        assert_eq!(
            spreadsheet_safe("-2+3+cmd|' /C calc'!E2"),
            "'-2+3+cmd|' /C calc'!E2"
        );
    }

    #[test]
    fn a_formula_start_after_a_separator_or_line_break_gets_a_quote_before_it() {
        assert_eq!(spreadsheet_safe("a;=1+1"), "a;'=1+1");
        assert_eq!(spreadsheet_safe("a,=1+1"), "a,'=1+1");
        assert_eq!(spreadsheet_safe("a\t=1+1"), "a\t'=1+1");
        assert_eq!(spreadsheet_safe("a\n=1+1"), "a\n'=1+1");
        assert_eq!(spreadsheet_safe("a\r\n=1+1"), "a\r\n'=1+1");
        assert_eq!(spreadsheet_safe("a\r=1+1"), "a\r'=1+1");
        assert_eq!(spreadsheet_safe("a\"=1+1"), "a\"'=1+1");
        assert_eq!(
            spreadsheet_safe("a; -2+3+cmd|' /C calc'!E2"),
            "a; '-2+3+cmd|' /C calc'!E2",
            "imports that trim spaces would otherwise see the formula"
        );
        for separator in [";", ",", "\t", "\r", "\n", "\r\n"] {
            for payload in PAYLOADS {
                let value = format!("a{separator}{payload}");
                let safe = spreadsheet_safe(&value);
                // However a spreadsheet splits the text into cells, none of them starts a formula.
                for cell in safe.split([';', ',', '\t', '\r', '\n']) {
                    assert!(
                        !cell.trim_start_matches(' ').starts_with(FORMULA_STARTS),
                        "{value:?} became {safe:?}, with the cell {cell:?}"
                    );
                }
                assert_eq!(
                    safe.replace('\'', ""),
                    value.replace('\'', ""),
                    "only quotes are added to {value:?}"
                );
            }
        }
    }

    #[test]
    fn a_tab_or_carriage_return_that_starts_a_cell_is_quoted_and_so_is_what_follows_it() {
        assert_eq!(spreadsheet_safe("a\t\t=1"), "a\t'\t'=1");
        assert_eq!(spreadsheet_safe("\t\r@x"), "'\t'\r'@x");
        assert_eq!(spreadsheet_safe(";;=1"), ";;'=1");
    }

    #[test]
    fn ordinary_text_stays_as_written() {
        for text in [
            "Costs - Q3",
            "Q3 = good",
            "down -5% since June, up +2% since May",
            "e-mail: bob@example.com",
            "don't",
            "",
            "1,5",
        ] {
            assert!(
                matches!(spreadsheet_safe(text), std::borrow::Cow::Borrowed(_)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_field_is_quoted_and_formulas_read_back_neutralised() {
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let mut report = report_at(at);
        report.title = "Hello, \"world\"".into();
        report.body = "=HYPERLINK(\"http://evil\")\nline two;@SUM(1+1)".into();
        let csv = String::from_utf8(reports_csv(&[report.clone()]).unwrap()).unwrap();
        let mut lines = csv.splitn(2, '\n');
        assert_eq!(
            lines.next(),
            Some(r#""id","title","body","author","created_at","updated_at""#)
        );
        assert_eq!(
            lines
                .next()
                .map(|row| row.starts_with(&format!("\"{}\",", report.id))),
            Some(true),
            "{csv}"
        );
        assert!(
            csv.contains(r#","2025-06-15T15:06:40Z","2025-06-15T15:06:40Z""#),
            "{csv}"
        );
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "Hello, \"world\"");
        assert_eq!(&row[2], "'=HYPERLINK(\"http://evil\")\nline two;'@SUM(1+1)");
        assert_eq!(&row[0], report.id.to_string());
    }

    /// Property tests with a fixed seed, so that a run is repeatable and a failure reproducible.
    mod properties {
        use proptest::prelude::*;
        use proptest::test_runner::Config;

        use super::*;

        fn config() -> Config {
            crate::test_support::property_config(512, 0x05af_ec5f)
        }

        /// Text with plenty of what matters here: formula starts, cell breaks, spaces, quotes, any Unicode.
        fn cell_text() -> impl Strategy<Value = String> {
            let tricky = prop::sample::select(vec![
                '=', '+', '-', '@', '\t', '\r', '\n', ',', ';', '"', '\'', ' ', 'a', '1', 'é',
                '\u{202e}',
            ]);
            prop::collection::vec(prop_oneof![3 => tricky, 1 => any::<char>()], 0..40)
                .prop_map(|chars| chars.into_iter().collect())
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn neutralising_only_inserts_apostrophes(text in cell_text()) {
                let safe = spreadsheet_safe(&text);
                prop_assert_eq!(safe.replace('\'', ""), text.replace('\'', ""));
            }

            #[test]
            fn an_apostrophe_goes_before_exactly_the_formula_starts_that_begin_a_cell(text in cell_text()) {
                let original: Vec<char> = text.chars().collect();
                // Where a cell may begin, by looking back: at the start, or after a cell break, spaces
                // in between.
                let begins_cell = |index: usize| {
                    let mut before = index;
                    while before > 0 && original[before - 1] == ' ' {
                        before -= 1;
                    }
                    before == 0 || CELL_BREAKS.contains(&original[before - 1])
                };
                let expected: Vec<usize> = (0..original.len())
                    .filter(|&index| FORMULA_STARTS.contains(&original[index]) && begins_cell(index))
                    .collect();
                // Which characters of the original got an apostrophe before them: the safe text is the
                // original with apostrophes inserted (see the property above), so a walk through both finds
                // them.
                let safe: Vec<char> = spreadsheet_safe(&text).chars().collect();
                let mut inserted = Vec::new();
                let mut at = 0;
                for c in safe {
                    if original.get(at) == Some(&c) {
                        at += 1;
                    } else {
                        prop_assert_eq!(c, '\'');
                        inserted.push(at);
                    }
                }
                prop_assert_eq!(at, original.len());
                prop_assert_eq!(inserted, expected, "{:?}", text);
            }

            #[test]
            fn the_csv_export_reads_back_as_written(
                rows in prop::collection::vec((cell_text(), cell_text(), cell_text()), 0..6)
            ) {
                let reports: Vec<db::reports::Report> = rows
                    .iter()
                    .map(|(title, body, author)| db::reports::Report {
                        title: title.clone(),
                        body: body.clone(),
                        author_name: author.clone(),
                        ..report_at(OffsetDateTime::UNIX_EPOCH)
                    })
                    .collect();
                let csv = reports_csv(&reports).unwrap();
                let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_slice());
                let read: Vec<csv::StringRecord> =
                    reader.records().collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(read.len(), reports.len());
                for (record, report) in read.iter().zip(&reports) {
                    let written = [
                        report.id.to_string(),
                        spreadsheet_safe(&report.title).into_owned(),
                        spreadsheet_safe(&report.body).into_owned(),
                        spreadsheet_safe(&report.author_name).into_owned(),
                    ];
                    prop_assert_eq!(&record.iter().take(4).collect::<Vec<_>>(), &written);
                }
            }
        }
    }
}
