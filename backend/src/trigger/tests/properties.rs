//! Properties over generated events, with a fixed seed: the event parser never panics, whatever reaches the
//! function (the user pool, or anyone else allowed to invoke it), and an identity it accepts is always the
//! one the event's user name names, read from a single primary entry of `identities`.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use super::*;

fn config() -> Config {
    crate::test_support::property_config(512, 0x7219_9e70)
}

/// Short text made mostly of what the parser looks at: separators, case, JSON punctuation, and characters
/// whose lower case is longer or folds into ASCII (`İ`, the Kelvin sign).
fn text() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        'a', 'A', 'z', '_', '-', '"', '[', ']', ',', '{', '}', ' ', '1', 'é', '\u{130}', '\u{212a}',
    ]);
    prop::collection::vec(prop_oneof![4 => tricky, 1 => any::<char>()], 0..10)
        .prop_map(|chars| chars.into_iter().collect())
}

/// An `identities` entry as Cognito writes it, with odd field values, or something that is no entry.
fn identity_entry() -> impl Strategy<Value = Value> {
    let primary = prop_oneof![
        Just(json!("true")),
        Just(json!(true)),
        Just(json!("false")),
        Just(json!(false)),
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
    ];
    prop_oneof![
        4 => (text(), text(), primary).prop_map(|(user_id, provider, primary)| json!({
            "userId": user_id, "providerName": provider, "providerType": "OIDC", "issuer": null,
            "primary": primary, "dateCreated": "1"
        })),
        1 => (text(), text()).prop_map(|(user_id, provider)| json!({"userId": user_id, "providerName": provider})),
        1 => any::<i64>().prop_map(Value::from),
        1 => text().prop_map(Value::from),
        1 => Just(json!({"userId": 1, "providerName": []})),
    ]
}

/// The `identities` attribute: mostly a JSON array of entries, sometimes any text, sometimes absent.
fn identities() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => prop::collection::vec(identity_entry(), 0..4)
            .prop_map(|entries| Some(Value::from(entries).to_string())),
        1 => text().prop_map(Some),
        1 => Just(None),
    ]
}

/// The `custom:idp_groups` attribute: a JSON array of names, other JSON, any text, or absent.
fn groups_attribute() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => prop::collection::vec(text(), 0..4).prop_map(|groups| Some(json!(groups).to_string())),
        1 => prop::collection::vec(text(), 0..4).prop_map(|groups| Some(groups.join(", "))),
        1 => text().prop_map(Some),
        1 => Just(None),
    ]
}

/// An event with generated fields. Half the time `identities` holds the one primary entry that the user
/// name (lower-cased, as Cognito makes it) was built from, as a real federated sign-in would.
fn any_event() -> impl Strategy<Value = PreTokenGenerationEvent> {
    let version = prop::sample::select(vec!["2", "3", "1", ""]);
    let source = prop::sample::select(vec![
        "TokenGeneration_HostedAuth",
        "TokenGeneration_RefreshTokens",
        "TokenGeneration_Authentication",
        "TokenGeneration_ClientCredentials",
        "PreSignUp_SignUp",
        "",
    ]);
    (
        (version, source),
        (text(), text(), any::<bool>()),
        (identities(), groups_attribute()),
    )
        .prop_map(
            |((version, source), (provider, subject, linked), (identities, groups))| {
                let mut e = event(&format!("{provider}_{subject}").to_lowercase(), None);
                e.version = version.to_owned();
                e.trigger_source = source.to_owned();
                let identities = if linked {
                    Some(
                        json!([{"userId": subject, "providerName": provider, "primary": "true"}])
                            .to_string(),
                    )
                } else {
                    identities
                };
                let attributes = &mut e.request.user_attributes;
                if let Some(identities) = identities {
                    attributes.insert(IDENTITIES_ATTRIBUTE.to_owned(), identities);
                }
                if let Some(groups) = groups {
                    attributes.insert(GROUPS_ATTRIBUTE.to_owned(), groups);
                }
                e
            },
        )
}

/// Any JSON value, nested a little: what a field of the event could be replaced with.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// The fields of an event (with the path to each) that a generated value may replace.
const FIELDS: [&[&str]; 9] = [
    &["version"],
    &["triggerSource"],
    &["userName"],
    &["request"],
    &["request", "userAttributes"],
    &["request", "userAttributes", "identities"],
    &["request", "userAttributes", "custom:idp_groups"],
    &["request", "groupConfiguration"],
    &["request", "scopes"],
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reading_an_event_never_panics(e in any_event(), field in 0..FIELDS.len(), value in any_json()) {
        // A well-formed event with one field replaced by any JSON value: it deserialises or it does not, and
        // whatever deserialises is classified and read without a panic.
        let mut raw = serde_json::to_value(&e).unwrap();
        let (last, parents) = FIELDS[field].split_last().unwrap();
        let mut target = &mut raw;
        for key in parents {
            target = &mut target[*key];
        }
        target[*last] = value;
        if let Ok(parsed) = serde_json::from_value::<PreTokenGenerationEvent>(raw) {
            let _ = classify(&parsed);
            let _ = FederatedIdentity::from_event(&parsed);
            let _ = groups_of(&parsed.request.user_attributes);
        }
    }

    #[test]
    fn an_accepted_identity_is_the_primary_entry_the_user_name_names(e in any_event()) {
        let Ok(identity) = FederatedIdentity::from_event(&e) else {
            return Ok(());
        };
        prop_assert!(!identity.provider.is_empty() && !identity.subject.is_empty());
        prop_assert_eq!(
            e.user_name.to_lowercase(),
            format!("{}_{}", identity.provider, identity.subject).to_lowercase()
        );
        let entries: Vec<Value> =
            serde_json::from_str(&e.request.user_attributes[IDENTITIES_ATTRIBUTE]).unwrap();
        let named = |entry: &&Value| {
            entry["providerName"] == identity.provider.as_str()
                && entry["userId"] == identity.subject.as_str()
        };
        let primary = |entry: &&Value| entry["primary"] == "true" || entry["primary"] == true;
        let primaries: Vec<&Value> = entries.iter().filter(primary).collect();
        match primaries.as_slice() {
            [only] => prop_assert!(named(only), "the single primary entry: {entries:?}"),
            [] => prop_assert!(entries.len() == 1 && named(&&entries[0]), "the only entry: {entries:?}"),
            _ => prop_assert!(false, "accepted with several primary entries: {entries:?}"),
        }
    }

    #[test]
    fn a_federated_sign_in_is_read_as_its_provider_and_subject(
        provider in text().prop_filter("a provider name", |p| !p.is_empty()),
        subject in text().prop_filter("a subject", |s| !s.is_empty()),
    ) {
        let identities = json!([{"userId": subject, "providerName": provider, "primary": "true"}]).to_string();
        let user_name = format!("{provider}_{subject}").to_lowercase();
        let identity = FederatedIdentity::from_event(&event(&user_name, Some(&identities))).unwrap();
        prop_assert_eq!(identity, FederatedIdentity { provider, subject });
    }

    #[test]
    fn groups_are_exactly_the_names_of_a_json_array(groups in prop::collection::vec(text(), 0..5)) {
        prop_assert_eq!(parse_idp_groups(Some(&json!(groups).to_string())), Ok(groups));
    }

    #[test]
    fn any_other_groups_value_gives_no_group_it_does_not_spell_as_json(value in text()) {
        // Whatever the text, the groups read are the strings of a JSON array it is, or none at all: a list
        // written any other way never yields a group.
        match parse_idp_groups(Some(&value)) {
            Ok(groups) if value.trim().is_empty() => prop_assert!(groups.is_empty()),
            Ok(groups) => prop_assert_eq!(serde_json::from_str::<Vec<String>>(value.trim()).ok(), Some(groups)),
            Err(_) => prop_assert!(serde_json::from_str::<Vec<String>>(value.trim()).is_err()),
        }
    }
}
