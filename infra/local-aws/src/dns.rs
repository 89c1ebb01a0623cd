//! The DNS stand-in: an authoritative name server for the demo customers' zones (`acme.example`,
//! `globex.example`, `initech.example`, from `local.json`'s `dns.zones`), where a customer's IT administrator
//! would publish records at their DNS provider, such as the TXT record that proves they own a domain.
//!
//! It answers UDP and TCP on one port, as a name server does on port 53, with `hickory-server`'s in-memory
//! zone handlers: each zone has its SOA and NS records (and an address for its name server); TXT records are
//! set and removed while everything runs, in code through [`Zones`] (`LocalAws::dns()`) and by a person
//! through an HTTP listener of its own (`/` lists the records, `/records` as JSON, `PUT` and `DELETE`
//! `/records/txt/<name>` change them). A name in a served zone without records is `NXDOMAIN`, an existing
//! name without records of the asked type an empty `NOERROR`, both with the zone's SOA in the authority
//! section; a name outside every zone is `REFUSED`, as an authoritative server that does not recurse answers.
//! Every change increments the zone's SOA serial.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, RecordSet, RecordType, RrKey};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::web::{esc, page};

/// The TTL of the TXT records, in seconds: short, so that a resolver that caches answers sees a change within
/// seconds (a DNS provider's records typically live minutes to hours).
pub const RECORD_TTL: u32 = 5;

/// How long a resolver may cache a negative answer (`NXDOMAIN`, no records of a type), in seconds: the SOA
/// record's TTL and its `MINIMUM` field (RFC 2308), as short as [`RECORD_TTL`] for the same reason.
pub const NEGATIVE_TTL: u32 = 5;

/// The most values (TXT records) one name holds through the stand-in: enough for every verification and
/// policy record a domain carries, and it keeps an answer within a TCP message.
pub const MAX_TXT_VALUES: usize = 20;

/// The longest TXT value in bytes: one `<character-string>`, whose length is a single octet (RFC 1035 3.3).
pub const MAX_TXT_VALUE_BYTES: usize = 255;

/// The largest request body the admin listener reads: twenty values of 255 bytes, with room for JSON
/// escaping.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The TTL of the zones' fixed records (NS and the name server's address).
const FIXED_TTL: u32 = 3600;

/// How long a TCP connection may stay silent before the server closes it.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many answers wait to be written on one TCP connection.
const TCP_RESPONSE_BUFFER: usize = 32;

/// A name's TXT records: one value per record, each a single character-string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// The owner name, lower-case, without the trailing dot (`_saas-verification.initech.example`).
    pub name: String,
    /// The values, in the order they were set.
    pub values: Vec<String>,
}

/// Why a record cannot be set, read or removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name is not a domain name the stand-in accepts.
    #[error("{name:?} is not a valid domain name: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The name is in none of the served zones.
    #[error("{name} is in none of the served zones ({zones})")]
    OutsideZones {
        /// The name, normalised.
        name: String,
        /// The served zones, comma-separated.
        zones: String,
    },
    /// A TXT record set needs at least one value.
    #[error("a TXT record needs at least one value; DELETE removes the record")]
    NoValues,
    /// More values than [`MAX_TXT_VALUES`].
    #[error("{count} values given; a name holds at most {MAX_TXT_VALUES}")]
    TooManyValues {
        /// How many were given.
        count: usize,
    },
    /// A value over [`MAX_TXT_VALUE_BYTES`].
    #[error(
        "value {index} is {bytes} bytes long; a TXT character-string holds at most {MAX_TXT_VALUE_BYTES}"
    )]
    ValueTooLong {
        /// The value's position, from 0.
        index: usize,
        /// Its length in bytes (UTF-8).
        bytes: usize,
    },
    /// The same value twice: a record set holds each record once (RFC 2181 5).
    #[error("value {index} repeats an earlier value; a record set holds each value once")]
    DuplicateValue {
        /// The position of the repetition, from 0.
        index: usize,
    },
}

impl DnsError {
    /// The machine-readable code of the admin API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            DnsError::InvalidName { .. } => "invalid_name",
            DnsError::OutsideZones { .. } => "outside_zones",
            DnsError::NoValues => "no_values",
            DnsError::TooManyValues { .. } => "too_many_values",
            DnsError::ValueTooLong { .. } => "value_too_long",
            DnsError::DuplicateValue { .. } => "duplicate_value",
        }
    }
}

/// A domain name as the stand-in keeps it: lower-case ASCII without the trailing dot, of labels of 1 to 63
/// letters, digits, hyphens and underscores (service labels such as `_saas-verification` have one), 253
/// characters at most. Wildcards and other characters are refused rather than served in surprising ways.
pub(crate) fn normalize_name(name: &str) -> Result<String, DnsError> {
    let invalid = |reason: &str| DnsError::InvalidName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = name.trim();
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if bare.is_empty() {
        return Err(invalid("it is empty"));
    }
    if bare.len() > 253 {
        return Err(invalid("it is longer than 253 characters"));
    }
    let lower = bare.to_ascii_lowercase();
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(invalid("it has an empty label"));
        }
        if label.len() > 63 {
            return Err(invalid("a label is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "labels may only hold letters, digits, hyphens and underscores",
            ));
        }
    }
    Ok(lower)
}

/// The fully qualified `Name` of a normalised name.
fn fqdn(name: &str) -> Result<Name, DnsError> {
    Name::from_ascii(format!("{name}.")).map_err(|error| DnsError::InvalidName {
        name: name.to_owned(),
        reason: error.to_string(),
    })
}

/// One served zone.
struct Zone {
    /// The zone's name, normalised (`initech.example`).
    name: String,
    origin: Name,
    /// The zone's name server, `ns1.<zone>`: the SOA's `MNAME` and the NS record's target.
    name_server: Name,
    /// The SOA's `RNAME`, `hostmaster.<zone>`.
    hostmaster: Name,
    handler: Arc<InMemoryZoneHandler<TokioRuntimeProvider>>,
}

impl Zone {
    /// Whether `name` (normalised) is the zone's apex or below it.
    fn contains(&self, name: &str) -> bool {
        name == self.name
            || name
                .strip_suffix(self.name.as_str())
                .is_some_and(|head| head.ends_with('.'))
    }

    /// The zone's name server as text, `ns1.<zone>`.
    fn name_server_text(&self) -> String {
        format!("ns1.{}", self.name)
    }
}

/// The served zones and their records, shared by the name server and the admin listener. Cloning gives
/// another handle on the same records.
#[derive(Clone)]
pub struct Zones {
    zones: Arc<Vec<Zone>>,
}

impl std::fmt::Debug for Zones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zones")
            .field("zones", &self.zones())
            .finish_non_exhaustive()
    }
}

/// The SOA record set of a zone with this serial.
fn soa_set(zone: &Zone, serial: u32) -> RecordSet {
    soa_record_set(&zone.origin, &zone.name_server, &zone.hostmaster, serial)
}

fn soa_record_set(origin: &Name, mname: &Name, rname: &Name, serial: u32) -> RecordSet {
    let mut set = RecordSet::with_ttl(origin.clone(), RecordType::SOA, NEGATIVE_TTL);
    // Refresh, retry and expire matter to secondary servers only, which the stand-in has none of; these are
    // common values.
    set.add_rdata(RData::SOA(SOA::new(
        mname.clone(),
        rname.clone(),
        serial,
        3600,
        600,
        604_800,
        NEGATIVE_TTL,
    )));
    set
}

/// The serial of a zone's SOA in `records`.
fn serial_of(records: &BTreeMap<RrKey, Arc<RecordSet>>, apex: &RrKey) -> u32 {
    records
        .get(apex)
        .and_then(|set| set.records_without_rrsigs().next())
        .and_then(|record| match &record.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
        .unwrap_or(0)
}

/// The values of a TXT record set, each record's character-strings joined as resolvers join them.
fn txt_values(set: &RecordSet) -> Vec<String> {
    set.records_without_rrsigs()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

/// Refuses values a TXT record set cannot hold or the stand-in does not take.
fn check_values(values: &[String]) -> Result<(), DnsError> {
    if values.is_empty() {
        return Err(DnsError::NoValues);
    }
    if values.len() > MAX_TXT_VALUES {
        return Err(DnsError::TooManyValues {
            count: values.len(),
        });
    }
    for (index, value) in values.iter().enumerate() {
        if value.len() > MAX_TXT_VALUE_BYTES {
            return Err(DnsError::ValueTooLong {
                index,
                bytes: value.len(),
            });
        }
        if values[..index].contains(value) {
            return Err(DnsError::DuplicateValue { index });
        }
    }
    Ok(())
}

impl Zones {
    /// The zones `names` (normalised, as [`check_zones`] returns them), each with its SOA, its NS
    /// `ns1.<zone>` and that name server's address `name_server_address`.
    pub(crate) fn new(names: &[String], name_server_address: IpAddr) -> anyhow::Result<Zones> {
        // The serial starts at the time of start, so that it grows across restarts as a zone's serial should.
        let serial = u32::try_from(crate::store::unix_now()).unwrap_or(1);
        let mut zones = Vec::new();
        for name in names {
            let origin = fqdn(name)?;
            let name_server = Name::from_ascii("ns1")?.append_domain(&origin)?;
            let hostmaster = Name::from_ascii("hostmaster")?.append_domain(&origin)?;
            let mut records = BTreeMap::new();
            records.insert(
                RrKey::new(LowerName::new(&origin), RecordType::SOA),
                soa_record_set(&origin, &name_server, &hostmaster, serial),
            );
            let mut ns = RecordSet::with_ttl(origin.clone(), RecordType::NS, FIXED_TTL);
            ns.add_rdata(RData::NS(NS(name_server.clone())));
            records.insert(RrKey::new(LowerName::new(&origin), RecordType::NS), ns);
            let (address_type, address) = match name_server_address {
                IpAddr::V4(v4) => (RecordType::A, RData::A(A(v4))),
                IpAddr::V6(v6) => (RecordType::AAAA, RData::AAAA(AAAA(v6))),
            };
            let mut glue = RecordSet::with_ttl(name_server.clone(), address_type, FIXED_TTL);
            glue.add_rdata(address);
            records.insert(RrKey::new(LowerName::new(&name_server), address_type), glue);
            let handler = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                origin.clone(),
                records,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .map_err(|error| anyhow::anyhow!("the DNS zone {name}: {error}"))?;
            zones.push(Zone {
                name: name.clone(),
                origin,
                name_server,
                hostmaster,
                handler: Arc::new(handler),
            });
        }
        Ok(Zones {
            zones: Arc::new(zones),
        })
    }

    /// The served zones' names (`acme.example`), in `local.json`'s order.
    pub fn zones(&self) -> Vec<String> {
        self.zones.iter().map(|zone| zone.name.clone()).collect()
    }

    /// The zone of `name` and the name normalised.
    fn locate(&self, name: &str) -> Result<(&Zone, String), DnsError> {
        let name = normalize_name(name)?;
        match self.zones.iter().find(|zone| zone.contains(&name)) {
            Some(zone) => Ok((zone, name)),
            None => Err(DnsError::OutsideZones {
                name,
                zones: self.zones().join(", "),
            }),
        }
    }

    /// Replaces the TXT records of `name` with one record per value, as a DNS provider's console does when an
    /// administrator saves a record; the zone's serial grows. Refuses a name outside the served zones, no
    /// value, more than [`MAX_TXT_VALUES`], a value over [`MAX_TXT_VALUE_BYTES`] bytes and repeated values.
    pub async fn set_txt(&self, name: &str, values: Vec<String>) -> Result<TxtRecord, DnsError> {
        let (zone, name) = self.locate(name)?;
        check_values(&values)?;
        let owner = fqdn(&name)?;
        let mut set = RecordSet::with_ttl(owner.clone(), RecordType::TXT, RECORD_TTL);
        for value in &values {
            set.add_rdata(RData::TXT(TXT::new(vec![value.clone()])));
        }
        let apex = RrKey::new(LowerName::new(&zone.origin), RecordType::SOA);
        {
            let mut records = zone.handler.records_mut().await;
            let serial = serial_of(&records, &apex).wrapping_add(1);
            records.insert(
                RrKey::new(LowerName::new(&owner), RecordType::TXT),
                Arc::new(set),
            );
            records.insert(apex, Arc::new(soa_set(zone, serial)));
        }
        tracing::info!(%name, ?values, "DNS TXT record set");
        Ok(TxtRecord { name, values })
    }

    /// Removes the TXT records of `name`; `false` when it had none. The zone's serial grows when something was
    /// removed.
    pub async fn clear_txt(&self, name: &str) -> Result<bool, DnsError> {
        let (zone, name) = self.locate(name)?;
        let owner = fqdn(&name)?;
        let apex = RrKey::new(LowerName::new(&zone.origin), RecordType::SOA);
        let removed = {
            let mut records = zone.handler.records_mut().await;
            let removed = records
                .remove(&RrKey::new(LowerName::new(&owner), RecordType::TXT))
                .is_some();
            if removed {
                let serial = serial_of(&records, &apex).wrapping_add(1);
                records.insert(apex, Arc::new(soa_set(zone, serial)));
            }
            removed
        };
        if removed {
            tracing::info!(%name, "DNS TXT record removed");
        }
        Ok(removed)
    }

    /// The TXT records of `name`, `None` when it has none.
    pub async fn txt(&self, name: &str) -> Result<Option<TxtRecord>, DnsError> {
        let (zone, name) = self.locate(name)?;
        let owner = fqdn(&name)?;
        let records = zone.handler.records().await;
        Ok(records
            .get(&RrKey::new(LowerName::new(&owner), RecordType::TXT))
            .map(|set| TxtRecord {
                name: name.clone(),
                values: txt_values(set),
            }))
    }

    /// Every TXT record of every served zone, by name.
    pub async fn records(&self) -> Vec<TxtRecord> {
        let mut all = Vec::new();
        for zone in self.zones.iter() {
            let records = zone.handler.records().await;
            for (key, set) in records.iter() {
                if key.record_type == RecordType::TXT {
                    let name = key.name.to_string();
                    all.push(TxtRecord {
                        name: name.strip_suffix('.').unwrap_or(&name).to_owned(),
                        values: txt_values(set),
                    });
                }
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The name server's zones, for `hickory-server`.
    fn catalog(&self) -> Catalog {
        let mut catalog = Catalog::new();
        for zone in self.zones.iter() {
            let handler: Arc<dyn ZoneHandler> = zone.handler.clone();
            catalog.upsert(LowerName::new(&zone.origin), vec![handler]);
        }
        catalog
    }
}

/// Checks `local.json`'s `dns.zones` and returns them normalised: valid names, none twice, none inside
/// another (the stand-in serves each name from one zone).
pub(crate) fn check_zones(zones: &[String]) -> anyhow::Result<Vec<String>> {
    let mut normalized: Vec<String> = Vec::new();
    for zone in zones {
        let name =
            normalize_name(zone).with_context(|| format!("local.json's DNS zone {zone:?}"))?;
        for other in &normalized {
            let nested = |inner: &str, outer: &str| {
                inner == outer
                    || inner
                        .strip_suffix(outer)
                        .is_some_and(|head| head.ends_with('.'))
            };
            if nested(&name, other) || nested(other, &name) {
                bail!("local.json's DNS zones {other} and {name} overlap: give each name one zone");
            }
        }
        normalized.push(name);
    }
    Ok(normalized)
}

/// Binds the name server's TCP listener and UDP socket on one port: `port`, or a free one for both when it
/// is 0 (tried a few times, since a port free for TCP may be taken for UDP).
pub(crate) async fn bind(bind: IpAddr, port: u16) -> anyhow::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..16 {
        let tcp = TcpListener::bind((bind, port))
            .await
            .with_context(|| format!("binding the DNS listener (TCP) on {bind}:{port}"))?;
        let actual = tcp
            .local_addr()
            .context("reading the DNS listener's address")?;
        match UdpSocket::bind(actual).await {
            Ok(udp) => return Ok((udp, tcp)),
            Err(error) if port == 0 => last_error = Some(error),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("binding the DNS listener (UDP) on {actual}"));
            }
        }
    }
    Err(anyhow::anyhow!(
        "no free port for the DNS listener on {bind} for both UDP and TCP: {last_error:?}"
    ))
}

/// Runs the name server on `udp` and `tcp` until `shutdown` is set.
pub(crate) fn serve(
    zones: &Zones,
    udp: UdpSocket,
    tcp: TcpListener,
    shutdown: &watch::Sender<bool>,
) -> JoinHandle<()> {
    let mut server = Server::new(zones.catalog());
    server.register_socket(udp);
    server.register_listener(tcp, TCP_TIMEOUT, TCP_RESPONSE_BUFFER);
    let token = server.shutdown_token().clone();
    let mut stop = shutdown.subscribe();
    tokio::spawn(async move {
        let stopping = tokio::spawn(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
            token.cancel();
        });
        if let Err(error) = server.block_until_done().await {
            tracing::error!(%error, listener = "dns", "listener failed");
        }
        stopping.abort();
    })
}

/// What the admin listener serves.
#[derive(Clone)]
struct Admin {
    zones: Zones,
    /// Where the name server answers (for the page's hints).
    dns_addr: SocketAddr,
    /// The admin listener's own base URL (for the page's hints).
    admin_url: String,
}

/// The admin listener: the records for a person and the JSON API that changes them.
pub(crate) fn admin_router(zones: Zones, dns_addr: SocketAddr, admin_url: String) -> Router {
    Router::new()
        .route("/", get(records_page))
        .route("/records", get(list_json))
        .route(
            "/records/txt/{name}",
            get(get_txt).put(put_txt).delete(delete_txt),
        )
        .fallback(not_found)
        // Inside the listener's general limit, so this one applies.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Admin {
            zones,
            dns_addr,
            admin_url,
        })
}

/// A record as the admin API shows it.
#[derive(Serialize)]
struct RecordJson<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    record_type: &'static str,
    ttl: u32,
    values: &'a [String],
}

impl<'a> From<&'a TxtRecord> for RecordJson<'a> {
    fn from(record: &'a TxtRecord) -> Self {
        RecordJson {
            name: &record.name,
            record_type: "TXT",
            ttl: RECORD_TTL,
            values: &record.values,
        }
    }
}

/// The body of `PUT /records/txt/<name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TxtBody {
    values: Vec<String>,
}

/// An error body `{"error": "<code>", "message": "<what to fix>"}`.
fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn dns_error(problem: &DnsError) -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        problem.code(),
        &problem.to_string(),
    )
}

async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such resource: see GET /records and /records/txt/<name>",
    )
}

/// `GET /records`: the zones and every TXT record, as JSON.
async fn list_json(State(admin): State<Admin>) -> Response {
    let records = admin.zones.records().await;
    let records: Vec<RecordJson<'_>> = records.iter().map(RecordJson::from).collect();
    Json(json!({ "zones": admin.zones.zones(), "records": records })).into_response()
}

/// `GET /records/txt/<name>`: one name's TXT records.
async fn get_txt(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    match admin.zones.txt(&name).await {
        Ok(Some(record)) => Json(RecordJson::from(&record)).into_response(),
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("{} has no TXT record", name.trim().trim_end_matches('.')),
        ),
        Err(problem) => dns_error(&problem),
    }
}

/// `PUT /records/txt/<name>` with `{"values": ["..."]}`: replaces the name's TXT records.
async fn put_txt(
    State(admin): State<Admin>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(rejection) => {
            return json_error(rejection.status(), "invalid_body", &rejection.body_text());
        }
    };
    let values = match serde_json::from_slice::<TxtBody>(&body) {
        Ok(body) => body.values,
        Err(problem) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                &format!("the body must be {{\"values\": [\"...\"]}}: {problem}"),
            );
        }
    };
    match admin.zones.set_txt(&name, values).await {
        Ok(record) => Json(RecordJson::from(&record)).into_response(),
        Err(problem) => dns_error(&problem),
    }
}

/// `DELETE /records/txt/<name>`: removes the name's TXT records (204), or 404 when it has none.
async fn delete_txt(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    match admin.zones.clear_txt(&name).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("{} has no TXT record", name.trim().trim_end_matches('.')),
        ),
        Err(problem) => dns_error(&problem),
    }
}

/// `GET /`: the zones and their records for a person, with how to query and change them.
async fn records_page(State(admin): State<Admin>) -> Response {
    let records = admin.zones.records().await;
    let server = admin.dns_addr;
    let zones: String = admin
        .zones
        .zones
        .iter()
        .map(|zone| {
            let rows: String = records
                .iter()
                .filter(|record| zone.contains(&record.name))
                .flat_map(|record| {
                    record.values.iter().map(move |value| {
                        format!(
                            "<tr><td><code>{}</code></td><td>TXT</td><td>{RECORD_TTL}</td><td><code>{}</code></td></tr>\n",
                            esc(&record.name),
                            esc(&format!("{value:?}"))
                        )
                    })
                })
                .collect();
            let rows = if rows.is_empty() {
                "<tr><td colspan=\"4\" class=\"hint\">No TXT records.</td></tr>\n".to_owned()
            } else {
                rows
            };
            format!(
                "<section>\n<h2>{zone}</h2>\n<p class=\"hint\">SOA and NS <code>{ns}</code> ({address})</p>\n\
                 <table>\n<tr><th>Name</th><th>Type</th><th>TTL</th><th>Value</th></tr>\n{rows}</table>\n</section>\n",
                zone = esc(&zone.name),
                ns = esc(&zone.name_server_text()),
                address = esc(&server.ip().to_string()),
            )
        })
        .collect();
    let zones = if zones.is_empty() {
        "<p>No zone is served: <code>local.json</code>'s <code>dns.zones</code> is empty.</p>\n"
            .to_owned()
    } else {
        zones
    };
    let example = records
        .first()
        .map_or("_saas-verification.initech.example", |record| {
            record.name.as_str()
        });
    let body = format!(
        "<main class=\"card wide\">\n<h1>DNS</h1>\n<p class=\"hint\">The local authoritative name server answers \
         UDP and TCP on <code>{server}</code>:</p>\n<pre>dig @{ip} -p {port} TXT {example}</pre>\n{zones}\
         <p class=\"hint\">Set a name's TXT records (replacing any), list them as JSON, remove them:</p>\n\
         <pre>curl -X PUT -H 'content-type: application/json' -d '{{\"values\": [\"saas-verification=...\"]}}' \\\n  \
         {admin}/records/txt/{example}\ncurl {admin}/records\ncurl -X DELETE {admin}/records/txt/{example}</pre>\n</main>",
        server = esc(&server.to_string()),
        ip = esc(&server.ip().to_string()),
        port = server.port(),
        example = esc(example),
        admin = esc(&admin.admin_url),
    );
    let style = ".wide{max-width:860px}table{width:100%;border-collapse:collapse;margin:8px 0 16px}\
                 th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d0d0d0;vertical-align:top}\
                 td code{word-break:break-all}h2{font-size:1.1rem;margin:20px 0 4px}\
                 pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:8px}";
    Html(page("DNS", style, &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_checked() {
        assert_eq!(
            normalize_name("_SaaS-Verification.Initech.Example.").unwrap(),
            "_saas-verification.initech.example"
        );
        for bad in [
            "",
            ".",
            "a..b",
            "*.acme.example",
            "a b.example",
            "ü.example",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}a", "a.".repeat(127)),
        ] {
            assert!(
                matches!(normalize_name(bad), Err(DnsError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(normalize_name(&format!("{}.example", "a".repeat(63))).is_ok());
    }

    #[test]
    fn values_are_checked() {
        let values = |n: usize| (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>();
        assert_eq!(check_values(&[]), Err(DnsError::NoValues));
        assert!(check_values(&values(MAX_TXT_VALUES)).is_ok());
        assert_eq!(
            check_values(&values(MAX_TXT_VALUES + 1)),
            Err(DnsError::TooManyValues { count: 21 })
        );
        assert!(check_values(&["x".repeat(255)]).is_ok());
        assert_eq!(
            check_values(&["ok".into(), "é".repeat(128)]),
            Err(DnsError::ValueTooLong {
                index: 1,
                bytes: 256
            })
        );
        assert_eq!(
            check_values(&["a".into(), "b".into(), "a".into()]),
            Err(DnsError::DuplicateValue { index: 2 })
        );
        assert!(check_values(&[String::new()]).is_ok());
    }

    #[test]
    fn zones_must_be_distinct_and_not_nested() {
        assert_eq!(
            check_zones(&["Acme.Example.".into(), "globex.example".into()]).unwrap(),
            ["acme.example", "globex.example"]
        );
        assert!(check_zones(&["acme.example".into(), "ACME.example".into()]).is_err());
        assert!(check_zones(&["acme.example".into(), "eu.acme.example".into()]).is_err());
        assert!(check_zones(&["eu.acme.example".into(), "acme.example".into()]).is_err());
        assert!(check_zones(&["acme.example".into(), "notacme.example".into()]).is_ok());
        assert!(check_zones(&["*.example".into()]).is_err());
    }

    #[tokio::test]
    async fn records_are_set_listed_and_removed_within_the_zones_only() {
        let zones = Zones::new(
            &["acme.example".into(), "initech.example".into()],
            [127, 0, 0, 1].into(),
        )
        .unwrap();
        let name = "_saas-verification.initech.example";
        let set = zones
            .set_txt("_SAAS-verification.initech.example.", vec!["a".into()])
            .await
            .unwrap();
        assert_eq!(set.name, name);
        zones
            .set_txt("acme.example", vec!["v=spf1 -all".into(), "x".into()])
            .await
            .unwrap();
        assert_eq!(
            zones.records().await,
            [
                TxtRecord {
                    name: name.into(),
                    values: vec!["a".into()]
                },
                TxtRecord {
                    name: "acme.example".into(),
                    values: vec!["v=spf1 -all".into(), "x".into()]
                },
            ]
        );
        assert!(matches!(
            zones.set_txt("initech.example.com", vec!["a".into()]).await,
            Err(DnsError::OutsideZones { .. })
        ));
        assert!(matches!(
            zones.set_txt("xinitech.example", vec!["a".into()]).await,
            Err(DnsError::OutsideZones { .. })
        ));
        assert!(zones.clear_txt(name).await.unwrap());
        assert!(!zones.clear_txt(name).await.unwrap());
        assert_eq!(zones.txt(name).await.unwrap(), None);
        assert_eq!(zones.records().await.len(), 1);
    }
}
