//! Paging shared by the list routes: the `?limit=` check and opaque cursors.
//!
//! A cursor is the position of the last item of a page (a keyset), serialised as JSON and base64url-encoded
//! so that clients treat it as opaque. A cursor that does not decode to the route's position type is a 422,
//! never a silent first page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;

/// The page size when `?limit` is absent.
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// The largest page size `?limit` may ask for.
pub const MAX_PAGE_SIZE: i64 = 100;

/// The query string of a list route: `?limit=&cursor=`. Its parameters are documented once, here, for
/// every list route (`params(PageQuery)` in the route's annotation).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The page size asked for, checked.
pub fn page_size(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=MAX_PAGE_SIZE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::unprocessable(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}."
        )))
    }
}

/// The opaque cursor for `position`.
pub fn encode_cursor<T: Serialize>(position: &T) -> Result<String, ApiError> {
    let json = serde_json::to_vec(position).map_err(ApiError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The position a cursor from [`encode_cursor`] names, or 422.
pub fn decode_cursor<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, ApiError> {
    cursor
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .ok_or_else(|| ApiError::unprocessable("cursor is not a cursor this API issued."))
        })
        .transpose()
}

/// Splits one row more than the page size off `items` and returns the cursor of the page's last item when
/// another page follows.
pub fn next_cursor<T, P: Serialize>(
    items: &mut Vec<T>,
    page_size: i64,
    position: impl Fn(&T) -> P,
) -> Result<Option<String>, ApiError> {
    let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
    if items.len() <= page_size {
        return Ok(None);
    }
    items.truncate(page_size);
    items
        .last()
        .map(|item| encode_cursor(&position(item)))
        .transpose()
}

/// A timestamp as RFC 3339 text, the wire form of every time in the API.
pub fn rfc3339(at: OffsetDateTime) -> Result<String, ApiError> {
    at.format(&Rfc3339).map_err(ApiError::internal)
}

/// Parses an RFC 3339 query parameter, or 422 naming it.
pub fn parse_rfc3339(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::unprocessable(format!(
            "{name} must be an RFC 3339 time such as 2025-06-01T00:00:00Z."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = encode_cursor(&("a@b.example", 7)).unwrap();
        let back: Option<(String, i32)> = decode_cursor(Some(&cursor)).unwrap();
        assert_eq!(back, Some(("a@b.example".to_owned(), 7)));
        for bad in ["", "!!", "bm90IGpzb24"] {
            assert!(decode_cursor::<(String, i32)>(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(decode_cursor::<(String, i32)>(None).unwrap(), None);
    }

    #[test]
    fn a_time_and_id_position_round_trips_to_the_microsecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_750_000_000_123_456_000).unwrap();
        let position = crate::db::Keyset {
            at,
            id: uuid::Uuid::new_v4(),
        };
        let cursor = encode_cursor(&position).unwrap();
        assert_eq!(decode_cursor(Some(&cursor)).unwrap(), Some(position));
        for bad in ["", "MTIz", "YWJjOmRlZg"] {
            assert!(
                decode_cursor::<crate::db::Keyset>(Some(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(MAX_PAGE_SIZE)).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE + 1)).is_err());
    }

    #[test]
    fn a_full_page_plus_one_yields_a_cursor() {
        let mut items = vec![1, 2, 3];
        assert_eq!(next_cursor(&mut items, 3, |i| *i).unwrap(), None);
        let cursor = next_cursor(&mut items, 2, |i| *i).unwrap();
        assert_eq!(items, vec![1, 2]);
        assert_eq!(decode_cursor::<i32>(cursor.as_deref()).unwrap(), Some(2));
    }
}
