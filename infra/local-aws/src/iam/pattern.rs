//! Policy strings: literal text, the `*` and `?` wildcards, and `${...}` policy variables that are replaced by
//! values from the request context before a string is compared.

use crate::iam::request::{Context, ContextValue};

/// One piece of a policy string as written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Characters compared as they are (this includes `${*}`, `${?}` and `${$}`, which stand for the literal
    /// characters `*`, `?` and `$`).
    Text(String),
    /// `*`: any run of characters, including none and including `/`.
    AnyRun,
    /// `?`: exactly one character.
    AnyChar,
    /// `${key}` or `${key, 'default'}`.
    Variable {
        /// The condition key, as written (looked up case-insensitively).
        key: String,
        /// The value used when the key is absent from the request context.
        default: Option<String>,
    },
}

/// A parsed policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
}

/// A pattern whose variables have all been replaced: text and wildcards only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text; a variable's value always lands here, so a `*` inside a tag value is never a wildcard.
    Text(String),
    AnyRun,
    AnyChar,
}

impl Pattern {
    /// Parses a policy string. Errors are messages naming what is wrong with the `${...}` syntax.
    pub(crate) fn parse(raw: &str) -> Result<Pattern, String> {
        let mut tokens = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("${") {
                let Some(end) = after.find('}') else {
                    return Err(format!(
                        "unterminated policy variable in {raw:?}: `${{` without `}}`"
                    ));
                };
                let inner = after[..end].trim();
                match inner {
                    "*" | "?" | "$" => text.push_str(inner),
                    _ => {
                        push_text(&mut tokens, &mut text);
                        tokens.push(parse_variable(inner, raw)?);
                    }
                }
                rest = &after[end + 1..];
                continue;
            }
            match c {
                '*' => {
                    push_text(&mut tokens, &mut text);
                    tokens.push(Token::AnyRun);
                }
                '?' => {
                    push_text(&mut tokens, &mut text);
                    tokens.push(Token::AnyChar);
                }
                _ => text.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        push_text(&mut tokens, &mut text);
        Ok(Pattern { tokens })
    }

    /// Whether the string uses any policy variable.
    pub(crate) fn has_variables(&self) -> bool {
        self.tokens
            .iter()
            .any(|token| matches!(token, Token::Variable { .. }))
    }

    /// Replaces every variable by its value from `context`. `None` when a variable cannot be resolved: its key
    /// is absent and it has no default, or the key is multivalued (IAM substitutes single values only). An
    /// unresolved string is never replaced by an empty string: it matches nothing.
    pub(crate) fn resolve(&self, context: &Context) -> Option<Resolved> {
        let mut parts = Vec::with_capacity(self.tokens.len());
        for token in &self.tokens {
            parts.push(match token {
                Token::Text(text) => Part::Text(text.clone()),
                Token::AnyRun => Part::AnyRun,
                Token::AnyChar => Part::AnyChar,
                Token::Variable { key, default } => match context.get(key) {
                    Some(ContextValue::Single(value)) => Part::Text(value.clone()),
                    Some(ContextValue::Multi(_)) => return None,
                    None => Part::Text(default.clone()?),
                },
            });
        }
        Some(Resolved { parts })
    }

    /// Splits an ARN pattern into its six colon-separated parts (partition, service, region, account, and the
    /// resource, which keeps any further colons). Only colons written in the policy separate parts: a colon
    /// inside a variable's name or value does not. `None` when the pattern has fewer than six parts.
    pub(crate) fn split_arn(&self) -> Option<Vec<Pattern>> {
        let mut segments = vec![Vec::new()];
        for token in &self.tokens {
            match token {
                Token::Text(text) if segments.len() < 6 => {
                    let mut pieces = text.split(':');
                    if let Some(first) = pieces.next() {
                        push_token_text(segments.last_mut()?, first);
                    }
                    for piece in pieces {
                        if segments.len() < 6 {
                            segments.push(Vec::new());
                            push_token_text(segments.last_mut()?, piece);
                        } else {
                            push_token_text(segments.last_mut()?, &format!(":{piece}"));
                        }
                    }
                }
                other => segments.last_mut()?.push(other.clone()),
            }
        }
        (segments.len() == 6).then(|| {
            segments
                .into_iter()
                .map(|tokens| Pattern { tokens })
                .collect()
        })
    }
}

impl Resolved {
    /// IAM wildcard matching (`StringLike`, resources, ARNs): `*` matches any run of characters including none,
    /// `?` exactly one; with `fold_case` letters compare case-insensitively.
    pub(crate) fn matches_glob(&self, text: &str, fold_case: bool) -> bool {
        let mut pattern = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(literal) if fold_case => {
                    pattern.extend(literal.to_lowercase().chars().map(Elem::Char));
                }
                Part::Text(literal) => pattern.extend(literal.chars().map(Elem::Char)),
                Part::AnyRun => pattern.push(Elem::AnyRun),
                Part::AnyChar => pattern.push(Elem::AnyChar),
            }
        }
        let text: Vec<char> = if fold_case {
            text.to_lowercase().chars().collect()
        } else {
            text.chars().collect()
        };
        glob(&pattern, &text)
    }

    /// Exact comparison (`StringEquals` and friends), where `*` and `?` are ordinary characters.
    pub(crate) fn matches_exactly(&self, text: &str, fold_case: bool) -> bool {
        let literal = self.literal();
        if fold_case {
            literal.to_lowercase() == text.to_lowercase()
        } else {
            literal == text
        }
    }

    fn literal(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::AnyRun => "*",
                Part::AnyChar => "?",
            })
            .collect()
    }
}

/// Matches `pattern` (a plain glob without variables) against `text`, for action names.
pub(crate) fn glob_str(pattern: &str, text: &str, fold_case: bool) -> bool {
    let resolved = Resolved {
        parts: pattern
            .chars()
            .map(|c| match c {
                '*' => Part::AnyRun,
                '?' => Part::AnyChar,
                other => Part::Text(other.to_string()),
            })
            .collect(),
    };
    resolved.matches_glob(text, fold_case)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Char(char),
    AnyRun,
    AnyChar,
}

/// Wildcard matching with a single backtracking point (the most recent `*`), linear in practice and never
/// exponential.
fn glob(pattern: &[Elem], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Elem::AnyChar) => {
                p += 1;
                t += 1;
            }
            Some(Elem::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Elem::AnyRun) => {
                backtrack = Some((p, t));
                p += 1;
            }
            _ => match backtrack {
                // Let the last `*` swallow one more character and try again from there.
                Some((star, start)) => {
                    backtrack = Some((star, start + 1));
                    p = star + 1;
                    t = start + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|elem| *elem == Elem::AnyRun)
}

fn push_text(tokens: &mut Vec<Token>, text: &mut String) {
    if !text.is_empty() {
        tokens.push(Token::Text(std::mem::take(text)));
    }
}

fn push_token_text(tokens: &mut Vec<Token>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Token::Text(last)) = tokens.last_mut() {
        last.push_str(text);
    } else {
        tokens.push(Token::Text(text.to_owned()));
    }
}

fn parse_variable(inner: &str, raw: &str) -> Result<Token, String> {
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
                .filter(|value| !value.contains('\''));
            match quoted {
                Some(value) => (key.trim(), Some(value.to_owned())),
                None => {
                    return Err(format!(
                        "the default of a policy variable is written in single quotes, as in \
                         ${{aws:PrincipalTag/team, 'none'}}; {raw:?} has {default:?}"
                    ));
                }
            }
        }
        None => (inner, None),
    };
    let well_formed = key.contains(':')
        && !key.starts_with(':')
        && !key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '$' | '{' | '\'' | ','));
    if !well_formed {
        return Err(format!(
            "{raw:?} has the policy variable ${{{inner}}}, which names no condition key (a key looks like \
             aws:username or aws:PrincipalTag/team)"
        ));
    }
    Ok(Token::Variable {
        key: key.to_owned(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context::new()
            .with("aws:PrincipalTag/team", "blue")
            .with("aws:TagKeys", vec!["a".to_owned()])
    }

    fn resolved(raw: &str) -> Option<Resolved> {
        Pattern::parse(raw).unwrap().resolve(&context())
    }

    #[test]
    fn a_star_matches_any_run_including_slashes_and_nothing() {
        let pattern = resolved("acme/*").unwrap();
        assert!(pattern.matches_glob("acme/", false));
        assert!(pattern.matches_glob("acme/u1/uploads/x", false));
        assert!(!pattern.matches_glob("acme", false));
        assert!(!pattern.matches_glob("acme2/x", false));
    }

    #[test]
    fn a_question_mark_matches_exactly_one_character() {
        let pattern = resolved("a?c").unwrap();
        assert!(pattern.matches_glob("abc", false));
        assert!(pattern.matches_glob("aéc", false));
        assert!(!pattern.matches_glob("ac", false));
        assert!(!pattern.matches_glob("abbc", false));
    }

    #[test]
    fn backtracking_finds_a_match_after_a_false_start() {
        let pattern = resolved("*ab*abc").unwrap();
        assert!(pattern.matches_glob("xxabyyababc", false));
        assert!(!pattern.matches_glob("xxabyyabab", false));
    }

    #[test]
    fn case_folding_applies_only_when_asked() {
        let pattern = resolved("S3:Get*").unwrap();
        assert!(pattern.matches_glob("s3:getobject", true));
        assert!(!pattern.matches_glob("s3:getobject", false));
    }

    #[test]
    fn a_variable_value_is_literal_text_even_when_it_holds_wildcards() {
        let context = Context::new().with("aws:PrincipalTag/team", "*");
        let pattern = Pattern::parse("${aws:PrincipalTag/team}/x")
            .unwrap()
            .resolve(&context)
            .unwrap();
        assert!(pattern.matches_glob("*/x", false));
        assert!(!pattern.matches_glob("blue/x", false));
    }

    #[test]
    fn variable_keys_are_looked_up_case_insensitively() {
        let pattern = resolved("${AWS:principaltag/TEAM}").unwrap();
        assert!(pattern.matches_exactly("blue", false));
    }

    #[test]
    fn an_absent_key_without_default_leaves_the_string_unresolved() {
        assert_eq!(resolved("${aws:PrincipalTag/missing}/x"), None);
    }

    #[test]
    fn an_absent_key_takes_the_default_and_a_present_key_ignores_it() {
        assert!(
            resolved("${aws:PrincipalTag/missing, 'none'}")
                .unwrap()
                .matches_exactly("none", false)
        );
        assert!(
            resolved("${aws:PrincipalTag/team,'none'}")
                .unwrap()
                .matches_exactly("blue", false)
        );
        assert!(
            resolved("${aws:PrincipalTag/missing, ''}")
                .unwrap()
                .matches_exactly("", false)
        );
    }

    #[test]
    fn a_multivalued_key_is_not_substituted() {
        assert_eq!(resolved("${aws:TagKeys}"), None);
        assert_eq!(resolved("${aws:TagKeys, 'x'}"), None);
    }

    #[test]
    fn special_variables_stand_for_literal_characters() {
        let pattern = resolved("a${*}b${?}c${$}").unwrap();
        assert!(pattern.matches_glob("a*b?c$", false));
        assert!(!pattern.matches_glob("axxb?c$", false));
        assert!(!pattern.matches_glob("a*bxc$", false));
    }

    #[test]
    fn exact_comparison_treats_wildcards_as_characters() {
        let pattern = resolved("a*").unwrap();
        assert!(pattern.matches_exactly("a*", false));
        assert!(!pattern.matches_exactly("ab", false));
    }

    #[test]
    fn malformed_variables_are_errors() {
        for raw in [
            "${aws:username",
            "${}",
            "${username}",
            "${aws:PrincipalTag/x, default}",
            "${aws:PrincipalTag/x, 'a'b'}",
            "${aws:user name}",
        ] {
            assert!(Pattern::parse(raw).is_err(), "{raw} should not parse");
        }
    }

    #[test]
    fn a_dollar_without_brace_is_plain_text() {
        assert!(resolved("a$b").unwrap().matches_exactly("a$b", false));
    }

    #[test]
    fn arns_split_into_six_parts_at_written_colons_only() {
        let pattern = Pattern::parse("arn:aws:s3:::bucket/${aws:PrincipalTag/team}/a:b").unwrap();
        let parts = pattern.split_arn().unwrap();
        assert_eq!(parts.len(), 6);
        let context = context();
        let resource = parts[5].resolve(&context).unwrap();
        assert!(resource.matches_exactly("bucket/blue/a:b", false));
        assert!(
            parts[3]
                .resolve(&context)
                .unwrap()
                .matches_exactly("", false)
        );
        assert_eq!(
            Pattern::parse("arn:aws:s3::bucket").unwrap().split_arn(),
            None
        );
        assert_eq!(Pattern::parse("*").unwrap().split_arn(), None);
    }
}
