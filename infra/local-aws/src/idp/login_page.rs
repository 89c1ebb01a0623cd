//! The mock IdPs' sign-in forms: Microsoft-like for Entra ID and Okta-like for Okta, each labelled with the
//! directory's display name. They post `username` and `password` plus the authorize request as hidden fields.

use crate::web::{esc, hidden_inputs, page};

/// Which IdP's look to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Brand {
    Entra,
    Okta,
}

/// What a sign-in form shows.
pub(crate) struct LoginForm<'a> {
    pub brand: Brand,
    /// The directory's display name (`Acme Corp (Entra ID)`).
    pub display_name: &'a str,
    /// Where the form posts (the authorize endpoint's path).
    pub action: &'a str,
    /// The authorize request, carried through the post.
    pub hidden: &'a [(&'static str, String)],
    /// A failed attempt's message.
    pub error: Option<&'a str>,
    /// The name typed in a failed attempt, so the user need not type it again.
    pub username: &'a str,
}

/// Renders the form as a complete HTML page; every value is escaped.
pub(crate) fn render(form: &LoginForm<'_>) -> String {
    let hidden = hidden_inputs(
        form.hidden
            .iter()
            .map(|(name, value)| (*name, value.as_str())),
    );
    let error = form
        .error
        .map(|message| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>",
                esc(message)
            )
        })
        .unwrap_or_default();
    let (title, style, logo, heading, user_label, user_placeholder) = match form.brand {
        Brand::Entra => (
            "Sign in to your account",
            ENTRA_STYLE,
            "<div class=\"logo\" aria-label=\"Microsoft\"><span></span><span></span><span></span><span></span></div>",
            "Sign in",
            "Email, phone, or Skype",
            "someone@example.com",
        ),
        Brand::Okta => (
            "Sign In",
            OKTA_STYLE,
            "<div class=\"logo\" aria-label=\"Okta\">okta</div>",
            "Sign In",
            "Username",
            "name@example.com",
        ),
    };
    let body = format!(
        "<main class=\"card {brand}\">\n{logo}\n<p class=\"directory\">{directory}</p>\n<h1>{heading}</h1>\n{error}\n\
         <form method=\"post\" action=\"{action}\">\n{hidden}\
         <label for=\"username\">{user_label}</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" placeholder=\"{user_placeholder}\" \
         autocomplete=\"username\" autofocus required>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"hint\">Local stand-in for development: no real account is involved.</p>\n</main>",
        brand = match form.brand {
            Brand::Entra => "entra",
            Brand::Okta => "okta",
        },
        directory = esc(form.display_name),
        action = esc(form.action),
        username = esc(form.username),
    );
    page(&format!("{title} - {}", form.display_name), style, &body)
}

const ENTRA_STYLE: &str = ".entra .logo{display:grid;grid-template-columns:10px 10px;gap:2px;margin-bottom:16px}\
.entra .logo span{width:10px;height:10px}.entra .logo span:nth-child(1){background:#f25022}\
.entra .logo span:nth-child(2){background:#7fba00}.entra .logo span:nth-child(3){background:#00a4ef}\
.entra .logo span:nth-child(4){background:#ffb900}.directory{color:#666;margin:0 0 8px;font-size:.9rem}";

const OKTA_STYLE: &str = "body{background:#f4f4f4}.okta{border-top:4px solid #00297a;border-radius:4px}\
.okta .logo{font-weight:700;font-size:1.6rem;color:#00297a;text-align:center;margin-bottom:8px}\
.okta h1{text-align:center}.okta button{width:100%;background:#1662dd;border-radius:4px}\
.okta input[type=text],.okta input[type=password]{border:1px solid #8c8c96;border-radius:4px;padding:8px}\
.directory{color:#666;margin:0 0 8px;font-size:.9rem;text-align:center}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_escapes_every_value() {
        let hidden = [("state", "\"><script>alert(1)</script>".to_owned())];
        let html = render(&LoginForm {
            brand: Brand::Okta,
            display_name: "Globex <Okta>",
            action: "/oauth2/default/v1/authorize",
            hidden: &hidden,
            error: Some("Unable to sign in"),
            username: "<b>",
        });
        assert!(!html.contains("<script>"));
        assert!(html.contains("Globex &lt;Okta&gt;"));
        assert!(html.contains("value=\"&lt;b&gt;\""));
        assert!(html.contains("name=\"password\" autocomplete"));
        assert!(html.contains("<button type=\"submit\">"));
    }
}
