//! The DNS stand-in answers as an authoritative name server of the demo zones does, to a real resolver over
//! UDP and over TCP on one port, and its records change through `LocalAws::dns()` and the admin API.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use local_aws::dns::{MAX_TXT_VALUES, RECORD_TTL};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::World;

const VERIFICATION: &str = "_saas-verification.initech.example";

#[derive(Clone, Copy, Debug)]
enum Transport {
    Udp,
    Tcp,
}

/// A resolver that asks the stand-in only, over one transport, and caches nothing, as the backend's resolver
/// is configured for it.
fn resolver(address: SocketAddr, transport: Transport) -> TokioResolver {
    let mut connection = match transport {
        Transport::Udp => ConnectionConfig::udp(),
        Transport::Tcp => ConnectionConfig::tcp(),
    };
    connection.port = address.port();
    let server = NameServerConfig::new(address.ip(), true, vec![connection]);
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![server]),
        TokioRuntimeProvider::default(),
    );
    let options = builder.options_mut();
    options.cache_size = 0;
    options.attempts = 1;
    options.timeout = Duration::from_secs(5);
    options.use_hosts_file = ResolveHosts::Never;
    builder.build().unwrap()
}

/// The TXT values the resolver finds at `name`, or its error.
async fn txt(
    address: SocketAddr,
    transport: Transport,
    name: &str,
) -> Result<Vec<String>, NetError> {
    let lookup = resolver(address, transport)
        .txt_lookup(format!("{name}."))
        .await?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect())
}

/// One query as `dig` sends it (recursion desired), over UDP or TCP, and the whole answer.
async fn ask(
    address: SocketAddr,
    transport: Transport,
    name: &str,
    record_type: RecordType,
) -> Message {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(
        Name::from_ascii(format!("{name}.")).unwrap(),
        record_type,
    ));
    let id = query.metadata.id;
    let bytes = query.to_vec().unwrap();
    let answer = tokio::task::spawn_blocking(move || match transport {
        Transport::Udp => {
            let socket = std::net::UdpSocket::bind((address.ip(), 0)).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            socket.send_to(&bytes, address).unwrap();
            let mut buffer = [0u8; 4096];
            let (length, from) = socket.recv_from(&mut buffer).unwrap();
            assert_eq!(from, address);
            buffer[..length].to_vec()
        }
        Transport::Tcp => {
            // RFC 1035 4.2.2: each message is preceded by its length in two bytes.
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let length = u16::try_from(bytes.len()).unwrap().to_be_bytes();
            stream.write_all(&length).unwrap();
            stream.write_all(&bytes).unwrap();
            let mut length = [0u8; 2];
            stream.read_exact(&mut length).unwrap();
            let mut buffer = vec![0u8; usize::from(u16::from_be_bytes(length))];
            stream.read_exact(&mut buffer).unwrap();
            buffer
        }
    })
    .await
    .unwrap();
    let message = Message::from_vec(&answer).unwrap();
    assert_eq!(message.metadata.id, id);
    message
}

/// The serial and owner of the SOA in a message's authority section.
fn authority_soa(message: &Message) -> (String, u32) {
    message
        .authorities
        .iter()
        .find_map(|record| match &record.data {
            RData::SOA(soa) => Some((record.name.to_string(), soa.serial)),
            _ => None,
        })
        .expect("an SOA in the authority section")
}

async fn soa_serial(address: SocketAddr, zone: &str) -> u32 {
    let answer = ask(address, Transport::Udp, zone, RecordType::SOA).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    answer
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
        .unwrap()
}

async fn put(world: &World, name: &str, body: &Value) -> (StatusCode, Value) {
    let response = world
        .http
        .put(format!("{}/records/txt/{name}", world.aws.dns_admin_url()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(world: &World, name: &str) -> (StatusCode, Value) {
    let response = world
        .http
        .delete(format!("{}/records/txt/{name}", world.aws.dns_admin_url()))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_txt_record_set_through_the_handle_is_answered_over_udp_and_over_tcp() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    let value = "saas-verification=3f1c8e0a9b7d";
    let set = world
        .aws
        .dns()
        .set_txt(VERIFICATION, vec![value.into()])
        .await
        .unwrap();
    assert_eq!(set.name, VERIFICATION);
    for transport in [Transport::Udp, Transport::Tcp] {
        assert_eq!(
            txt(address, transport, VERIFICATION).await.unwrap(),
            [value],
            "{transport:?}"
        );
        // Names are case-insensitive, as every DNS name is.
        assert_eq!(
            txt(address, transport, "_SAAS-Verification.Initech.EXAMPLE")
                .await
                .unwrap(),
            [value],
            "{transport:?}"
        );
        let answer = ask(address, transport, VERIFICATION, RecordType::TXT).await;
        assert!(answer.metadata.authoritative, "{transport:?}");
        assert_eq!(answer.answers.len(), 1);
        assert_eq!(answer.answers[0].ttl, RECORD_TTL);
    }
    // Several values are several records; setting again replaces them all.
    world
        .aws
        .dns()
        .set_txt(
            VERIFICATION,
            vec!["saas-verification=new".into(), "v=spf1 -all".into()],
        )
        .await
        .unwrap();
    let mut values = txt(address, Transport::Udp, VERIFICATION).await.unwrap();
    values.sort();
    assert_eq!(values, ["saas-verification=new", "v=spf1 -all"]);
    assert_eq!(
        world
            .aws
            .dns()
            .txt(VERIFICATION)
            .await
            .unwrap()
            .unwrap()
            .values,
        ["saas-verification=new", "v=spf1 -all"]
    );
}

#[tokio::test]
async fn a_record_set_through_the_admin_api_is_answered_listed_and_shown() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    let (status, body) = put(
        &world,
        VERIFICATION,
        &json!({ "values": ["saas-verification=from-a-person"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "name": VERIFICATION, "type": "TXT", "ttl": RECORD_TTL,
            "values": ["saas-verification=from-a-person"],
        })
    );
    assert_eq!(
        txt(address, Transport::Tcp, VERIFICATION).await.unwrap(),
        ["saas-verification=from-a-person"]
    );

    let listed: Value = world
        .get(&format!("{}/records", world.aws.dns_admin_url()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["zones"],
        json!(["acme.example", "globex.example", "initech.example"])
    );
    assert_eq!(listed["records"], json!([body]));
    let one: Value = world
        .get(&format!(
            "{}/records/txt/{VERIFICATION}.",
            world.aws.dns_admin_url()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one, body);
    assert_eq!(world.aws.dns().records().await.len(), 1);

    let page = world.get(&world.aws.dns_admin_url()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(VERIFICATION), "{html}");
    assert!(html.contains("saas-verification=from-a-person"), "{html}");
    assert!(html.contains(&format!("-p {}", address.port())), "{html}");
    for zone in ["acme.example", "globex.example", "initech.example"] {
        assert!(html.contains(zone), "{zone}");
    }
}

#[tokio::test]
async fn a_removed_record_answers_nxdomain_with_the_zones_soa() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    let zones = world.aws.dns();
    zones
        .set_txt(VERIFICATION, vec!["saas-verification=gone-soon".into()])
        .await
        .unwrap();
    let (status, _) = delete(&world, VERIFICATION).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = delete(&world, VERIFICATION).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let error = txt(address, Transport::Udp, VERIFICATION)
        .await
        .unwrap_err();
    assert!(error.is_nx_domain(), "{error:?}");
    let NetError::Dns(DnsError::NoRecordsFound(no_records)) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        no_records.soa.as_ref().unwrap().name.to_string(),
        "initech.example."
    );

    // Through the handle as well.
    zones
        .set_txt("acme.example", vec!["v=spf1 -all".into()])
        .await
        .unwrap();
    assert!(zones.clear_txt("ACME.example.").await.unwrap());
    assert!(!zones.clear_txt("acme.example").await.unwrap());
    assert!(zones.records().await.is_empty());
}

#[tokio::test]
async fn an_unset_name_is_nxdomain_and_a_name_without_txt_is_empty_both_with_the_soa() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    for transport in [Transport::Udp, Transport::Tcp] {
        let unset = ask(address, transport, VERIFICATION, RecordType::TXT).await;
        assert_eq!(unset.metadata.response_code, ResponseCode::NXDomain);
        assert!(unset.metadata.authoritative);
        assert!(unset.answers.is_empty());
        assert_eq!(authority_soa(&unset).0, "initech.example.");

        // The apex exists (SOA, NS) but has no TXT: NOERROR without answers.
        let apex = ask(address, transport, "globex.example", RecordType::TXT).await;
        assert_eq!(apex.metadata.response_code, ResponseCode::NoError);
        assert!(apex.metadata.authoritative);
        assert!(apex.answers.is_empty());
        assert_eq!(authority_soa(&apex).0, "globex.example.");
    }
    let error = txt(address, Transport::Tcp, "acme.example")
        .await
        .unwrap_err();
    assert!(
        error.is_no_records_found() && !error.is_nx_domain(),
        "{error:?}"
    );

    // Each zone names its server.
    let ns = ask(address, Transport::Udp, "acme.example", RecordType::NS).await;
    let servers: Vec<String> = ns
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::NS(ns) => Some(ns.0.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(servers, ["ns1.acme.example."]);
}

#[tokio::test]
async fn a_name_outside_every_zone_is_refused() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    for name in [
        "example.com",
        "_saas-verification.initech.example.com",
        "example",
    ] {
        for transport in [Transport::Udp, Transport::Tcp] {
            let answer = ask(address, transport, name, RecordType::TXT).await;
            assert_eq!(
                answer.metadata.response_code,
                ResponseCode::Refused,
                "{name} {transport:?}"
            );
            assert!(answer.answers.is_empty());
        }
    }
    let error = txt(address, Transport::Udp, "example.com")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))
        ),
        "{error:?}"
    );
    let refused = world
        .aws
        .dns()
        .set_txt("initech.example.com", vec!["x".into()])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "outside_zones");
    assert!(
        refused
            .to_string()
            .contains("acme.example, globex.example, initech.example"),
        "{refused}"
    );
}

#[tokio::test]
async fn every_change_increments_the_zones_serial() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let address = world.aws.dns_addr();
    let zones = world.aws.dns();
    let start = soa_serial(address, "initech.example").await;
    let acme = soa_serial(address, "acme.example").await;
    zones.set_txt(VERIFICATION, vec!["a".into()]).await.unwrap();
    assert_eq!(soa_serial(address, "initech.example").await, start + 1);
    zones.clear_txt(VERIFICATION).await.unwrap();
    assert_eq!(soa_serial(address, "initech.example").await, start + 2);
    // Removing nothing changes nothing, and other zones keep theirs.
    zones.clear_txt(VERIFICATION).await.unwrap();
    assert_eq!(soa_serial(address, "initech.example").await, start + 2);
    assert_eq!(soa_serial(address, "acme.example").await, acme);
}

#[tokio::test]
async fn the_admin_api_refuses_bad_input_with_json_errors() {
    let world = World::start_bare_with(|config| config.dns.records.clear()).await;
    let many: Vec<String> = (0..=MAX_TXT_VALUES).map(|i| format!("v{i}")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "initech.example.com",
            json!({"values": ["x"]}),
            "outside_zones",
        ),
        ("example", json!({"values": ["x"]}), "outside_zones"),
        (
            "*.initech.example",
            json!({"values": ["x"]}),
            "invalid_name",
        ),
        (
            "a..initech.example",
            json!({"values": ["x"]}),
            "invalid_name",
        ),
        (VERIFICATION, json!({"values": []}), "no_values"),
        (VERIFICATION, json!({"values": many}), "too_many_values"),
        (
            VERIFICATION,
            json!({"values": ["x".repeat(256)]}),
            "value_too_long",
        ),
        (
            VERIFICATION,
            json!({"values": ["a", "a"]}),
            "duplicate_value",
        ),
        (VERIFICATION, json!({"values": "x"}), "invalid_body"),
        (VERIFICATION, json!({"values": [1]}), "invalid_body"),
        (VERIFICATION, json!({"value": ["x"]}), "invalid_body"),
        (
            VERIFICATION,
            json!({"values": ["x"], "ttl": 60}),
            "invalid_body",
        ),
    ];
    for (name, body, code) in cases {
        let (status, answer) = put(&world, name, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name} {body}");
        assert_eq!(answer["error"], code, "{name} {body}: {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty(), "{answer}");
    }

    let not_json = world
        .http
        .put(format!(
            "{}/records/txt/{VERIFICATION}",
            world.aws.dns_admin_url()
        ))
        .body("values=x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.json::<Value>().await.unwrap()["error"],
        "invalid_body"
    );

    let huge = json!({ "values": ["x".repeat(20_000)] });
    let (status, answer) = put(&world, VERIFICATION, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"], "body_too_large");

    let (status, answer) = delete(&world, "initech.example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "outside_zones");

    let unknown = world
        .get(&format!(
            "{}/records/mx/acme.example",
            world.aws.dns_admin_url()
        ))
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "not_found");

    // The longest value and the most values are fine, and nothing refused was kept.
    assert!(world.aws.dns().records().await.is_empty());
    let most: Vec<String> = (0..MAX_TXT_VALUES).map(|i| format!("{i:0>255}")).collect();
    let (status, answer) = put(&world, VERIFICATION, &json!({ "values": most })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Twenty records of 255 bytes are more than a UDP answer holds: over TCP they all arrive.
    let mut values = txt(world.aws.dns_addr(), Transport::Tcp, VERIFICATION)
        .await
        .unwrap();
    values.sort();
    assert_eq!(values, most);
}
