//! Decomposition of a compact JWS into its still unverified header and claims, with aws-jwt-verify's
//! shape and type checks. Nothing here is trusted until the signature has been verified.
//!
//! Header and payload are read into structs naming the parameters and claims the verifier and the
//! application use, borrowing their strings from the decoded part; every other member is skipped without
//! being kept. The members are typed as [`Json`], which records what JSON type each value had, so that a
//! claim of the wrong type is reported by name (`exp must be a non-negative number`) rather than as a parse
//! error, as aws-jwt-verify reports it. Reading into a map of owned values instead would cost about twice
//! the time and an allocation per member for every token verified.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeError, Engine};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{TokenPart, VerifyError};

/// Longest token accepted, in bytes. Cognito access tokens are one to two kilobytes; the limit keeps a
/// hostile input from costing more than a glance.
pub(super) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token split at its dots, each part decoded from base64url; nothing parsed yet.
#[derive(Debug)]
pub(super) struct DecodedToken {
    header: Vec<u8>,
    payload: Vec<u8>,
    /// The length of the signed part, `header.payload`, at the start of the token.
    signed_len: usize,
    signature: Vec<u8>,
}

impl DecodedToken {
    /// Splits `header.payload.signature` and decodes each part as unpadded base64url (RFC 7515). A byte
    /// outside the base64url alphabet, padding included, means the input is not a compact JWS at all.
    pub(super) fn decode(token: &str) -> Result<Self, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge {
                max: MAX_TOKEN_BYTES,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::NotThreeParts);
        };
        if [header_b64, payload_b64, signature_b64]
            .iter()
            .any(|part| part.is_empty())
        {
            return Err(VerifyError::NotThreeParts);
        }
        // The signature first: its alphabet errors are the likeliest (a token with something appended).
        let signature = decode_part(signature_b64, TokenPart::Signature)?;
        Ok(Self {
            header: decode_part(header_b64, TokenPart::Header)?,
            payload: decode_part(payload_b64, TokenPart::Payload)?,
            signed_len: header_b64.len() + 1 + payload_b64.len(),
            signature,
        })
    }

    /// Parses header and payload as JSON objects and checks the types of the header parameters and
    /// registered claims.
    pub(super) fn parse(&self) -> Result<UnverifiedToken<'_>, VerifyError> {
        let header: RawHeader<'_> = parse_object(&self.header, TokenPart::Header)?;
        let claims: Claims<'_> = parse_object(&self.payload, TokenPart::Payload)?;
        let header = UnverifiedHeader {
            alg: header.alg.into_string("alg")?,
            kid: header.kid.into_string("kid")?,
            has_crit: !matches!(header.crit, Json::Absent),
        };
        claims.check_types()?;
        Ok(UnverifiedToken {
            header,
            claims,
            signed_len: self.signed_len,
            signature: &self.signature,
        })
    }
}

/// The header parameters the verifier uses.
#[derive(Debug)]
pub(super) struct UnverifiedHeader<'a> {
    pub(super) alg: Option<Cow<'a, str>>,
    pub(super) kid: Option<Cow<'a, str>>,
    /// RFC 7515 `crit`: extensions the receiver must understand. This verifier understands none.
    pub(super) has_crit: bool,
}

/// A token with header and claims parsed and type-checked but not verified.
#[derive(Debug)]
pub(super) struct UnverifiedToken<'a> {
    pub(super) header: UnverifiedHeader<'a>,
    pub(super) claims: Claims<'a>,
    /// The length of the signed part, `header.payload`, at the start of the token.
    pub(super) signed_len: usize,
    /// The signature, decoded.
    pub(super) signature: &'a [u8],
}

/// The header as read: only the parameters the verifier looks at.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(default, borrow)]
    alg: Json<'a>,
    #[serde(default, borrow)]
    kid: Json<'a>,
    #[serde(default, borrow)]
    crit: Json<'a>,
}

/// The claims the verifier checks and the application reads: the registered ones, Cognito's, and the tenant
/// binding the pre-token-generation trigger adds. A claim named twice makes the payload invalid (RFC 7519
/// lets a parser refuse duplicates, and refusing leaves no doubt about which value was signed).
#[derive(Debug, Deserialize)]
pub(super) struct Claims<'a> {
    #[serde(default, borrow)]
    iss: Json<'a>,
    #[serde(default, borrow)]
    sub: Json<'a>,
    #[serde(default, borrow)]
    aud: Json<'a>,
    #[serde(default, borrow)]
    exp: Json<'a>,
    #[serde(default, borrow)]
    nbf: Json<'a>,
    #[serde(default, borrow)]
    iat: Json<'a>,
    #[serde(default, borrow)]
    jti: Json<'a>,
    #[serde(default, borrow)]
    scope: Json<'a>,
    #[serde(default, borrow)]
    client_id: Json<'a>,
    #[serde(default, borrow)]
    token_use: Json<'a>,
    #[serde(default, borrow)]
    username: Json<'a>,
    #[serde(default, borrow)]
    origin_jti: Json<'a>,
    #[serde(default, borrow)]
    auth_time: Json<'a>,
    #[serde(default, borrow)]
    tenant_id: Json<'a>,
    #[serde(default, borrow)]
    member_id: Json<'a>,
}

impl<'a> Claims<'a> {
    /// aws-jwt-verify's type checks: the NumericDate claims are numbers, the string claims strings, `aud` a
    /// string or an array of strings, whenever they are present.
    fn check_types(&self) -> Result<(), VerifyError> {
        for (name, value) in [("exp", &self.exp), ("nbf", &self.nbf), ("iat", &self.iat)] {
            if !matches!(value, Json::Absent) && value.numeric_date().is_none() {
                return Err(VerifyError::InvalidType {
                    name,
                    expected: "a non-negative number",
                });
            }
        }
        for (name, value) in [
            ("iss", &self.iss),
            ("sub", &self.sub),
            ("scope", &self.scope),
            ("client_id", &self.client_id),
            ("token_use", &self.token_use),
            ("username", &self.username),
            ("jti", &self.jti),
        ] {
            value.string(name)?;
        }
        if !matches!(
            self.aud,
            Json::Absent | Json::String(_) | Json::Array { all_strings: true }
        ) {
            return Err(VerifyError::InvalidType {
                name: "aud",
                expected: "a string or an array of strings",
            });
        }
        Ok(())
    }

    pub(super) fn iss(&self) -> Option<&str> {
        self.iss.as_str()
    }

    pub(super) fn sub(&self) -> Option<&str> {
        self.sub.as_str()
    }

    pub(super) fn client_id(&self) -> Option<&str> {
        self.client_id.as_str()
    }

    pub(super) fn token_use(&self) -> Option<&str> {
        self.token_use.as_str()
    }

    pub(super) fn scope(&self) -> Option<&str> {
        self.scope.as_str()
    }

    pub(super) fn username(&self) -> Option<&str> {
        self.username.as_str()
    }

    pub(super) fn jti(&self) -> Option<&str> {
        self.jti.as_str()
    }

    /// `exp` in whole seconds (fractions are dropped).
    pub(super) fn exp(&self) -> Option<i64> {
        self.exp.numeric_date()
    }

    /// `nbf` in whole seconds.
    pub(super) fn nbf(&self) -> Option<i64> {
        self.nbf.numeric_date()
    }

    /// `iat` in whole seconds.
    pub(super) fn iat(&self) -> Option<i64> {
        self.iat.numeric_date()
    }

    /// Cognito's `origin_jti`: the same in every token of one sign-in and its refreshes. Not type-checked
    /// here; a value that is not a string counts as absent.
    pub(super) fn origin_jti(&self) -> Option<&str> {
        self.origin_jti.as_str()
    }

    /// Cognito's `auth_time`, when it is a whole number of seconds.
    pub(super) fn auth_time(&self) -> Option<i64> {
        match self.auth_time {
            Json::Number(Number::Unsigned(seconds)) => i64::try_from(seconds).ok(),
            Json::Number(Number::Signed(seconds)) => Some(seconds),
            _ => None,
        }
    }

    /// The `tenant_id` the trigger added, when a string.
    pub(super) fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_str()
    }

    /// The `member_id` the trigger added, when a string.
    pub(super) fn member_id(&self) -> Option<&str> {
        self.member_id.as_str()
    }
}

/// A JSON value kept only as far as the verifier needs it: strings (borrowed from the decoded part when
/// they hold no escape), numbers, and the type of anything else.
#[derive(Debug, Default)]
enum Json<'a> {
    /// The member is not in the object.
    #[default]
    Absent,
    Null,
    Bool,
    Number(Number),
    String(Cow<'a, str>),
    /// An array, and whether every element is a string (what `aud` may be).
    Array {
        all_strings: bool,
    },
    Object,
}

/// A JSON number as serde_json reports it: an integer when it is one, else a double.
#[derive(Debug, Clone, Copy)]
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl<'a> Json<'a> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(value) => Some(value),
            _ => None,
        }
    }

    /// The string, `None` when absent, and a type error when present with another type.
    fn string(&self, name: &'static str) -> Result<Option<&str>, VerifyError> {
        match self {
            Json::Absent => Ok(None),
            Json::String(value) => Ok(Some(value)),
            _ => Err(VerifyError::InvalidType {
                name,
                expected: "a string",
            }),
        }
    }

    /// [`Json::string`], taking the string.
    fn into_string(self, name: &'static str) -> Result<Option<Cow<'a, str>>, VerifyError> {
        match self {
            Json::Absent => Ok(None),
            Json::String(value) => Ok(Some(value)),
            _ => Err(VerifyError::InvalidType {
                name,
                expected: "a string",
            }),
        }
    }

    /// A non-negative JSON number as whole seconds. Negative or out-of-range dates are not dates.
    fn numeric_date(&self) -> Option<i64> {
        match *self {
            Json::Number(Number::Unsigned(seconds)) => i64::try_from(seconds).ok(),
            Json::Number(Number::Signed(seconds)) => (seconds >= 0).then_some(seconds),
            // The upper bound keeps the conversion exact; no real date is anywhere near it.
            Json::Number(Number::Float(seconds)) => (seconds.is_finite()
                && (0.0..9.0e15).contains(&seconds))
            .then(|| seconds.trunc() as i64),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor(PhantomData))
    }
}

struct JsonVisitor<'a>(PhantomData<Json<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for JsonVisitor<'a> {
    type Value = Json<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool)
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(Number::Unsigned(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(Number::Signed(value)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Json::Number(Number::Float(value)))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<Json<'a>>()? {
            all_strings &= matches!(element, Json::String(_));
        }
        Ok(Json::Array { all_strings })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Object)
    }
}

fn decode_part(part_b64: &str, part: TokenPart) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part_b64)
        .map_err(|error| match error {
            // A byte outside the alphabet (padding among them): not base64url at all.
            DecodeError::InvalidByte(..) | DecodeError::InvalidPadding => {
                VerifyError::NotThreeParts
            }
            // The right alphabet, but a length or a last symbol no encoder produces.
            DecodeError::InvalidLength(_) | DecodeError::InvalidLastSymbol(..) => {
                VerifyError::InvalidBase64 { part }
            }
        })
}

/// Parses a decoded part as a JSON object. serde would also read a struct from a JSON array (member by
/// member, in order), which is not an object, so the first byte is checked to open one.
fn parse_object<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    part: TokenPart,
) -> Result<T, VerifyError> {
    let opens_object = bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'{');
    if !opens_object {
        return Err(VerifyError::NotJsonObject { part });
    }
    serde_json::from_slice(bytes).map_err(|_| VerifyError::NotJsonObject { part })
}
