//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/openapi.json`.
//!
//! Operations, parameters and responses come from the `#[utoipa::path]` annotations on the handlers, and the
//! schemas from the `shared` API types. The security requirement of each operation, and the answers every
//! route of its kind gives (401 and 403, 404 for a route with an id, 413 for one with a body), are not
//! written by hand: they are taken from the route the operation was added with in its
//! [`ScopedRouter`](crate::auth::ScopedRouter), so the document cannot disagree with what the server
//! enforces (a handler documents only its own further reasons for them). A test checks that the document
//! and the router list the same routes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use shared::ErrorCode;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    self, ContentBuilder, PathItem, Ref, RefOr, ResponseBuilder, SecurityRequirement,
};

use super::{audit, dashboard, files, invitations, me, members, reports, sessions, settings, sso};
use crate::auth::RouteSpec;
use crate::auth::session::{COOKIE_NAME, SECURE_COOKIE_NAME};
use crate::state::AppState;

/// The annotated operations and the schemas they use.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "SaaS reference API",
        description = "The tenant workspace API. Every route needs a session (the web app's cookie) or an \
                       access token of the user pool (`Authorization: Bearer`), and the scope named in its \
                       security requirement. Errors are JSON `{\"code\", \"message\"}` with a stable code."
    ),
    paths(
        me::me,
        dashboard::dashboard,
        reports::list,
        reports::create,
        reports::export,
        reports::read,
        reports::edit,
        reports::remove,
        members::list,
        members::change,
        sessions::my_sessions,
        sessions::sign_out_everywhere,
        sessions::end_my_session,
        sessions::member_sessions,
        sessions::end_member_sessions,
        sessions::end_member_session,
        invitations::list,
        invitations::create,
        invitations::withdraw,
        settings::read,
        settings::replace,
        sso::list_links,
        sso::create_link,
        sso::revoke_link,
        sso::list_domains,
        sso::add_domain,
        sso::verify_domain,
        sso::remove_domain,
        sso::provider,
        sso::rotate_secret,
        audit::list,
        audit::export,
        files::credentials,
        files::list,
        files::record,
        files::download,
        files::link,
        files::remove,
    ),
    components(schemas(ErrorCode)),
    tags(
        (name = "me", description = "The caller."),
        (name = "dashboard", description = "The tenant at a glance."),
        (name = "reports", description = "The tenant's reports."),
        (name = "members", description = "Member administration (admins)."),
        (name = "sessions", description = "Browser sessions: the caller's own, and any member's (admins)."),
        (name = "invitations", description = "Invitations (admins)."),
        (name = "settings", description = "Sign-in settings (admins)."),
        (name = "audit", description = "The audit log (admins)."),
        (name = "files", description = "Uploads straight to S3: credentials, records, downloads."),
    )
)]
struct ApiDoc;

/// The route serving the document (outside `/api/v1`: reading it needs no sign-in).
pub fn router(state: &AppState) -> Router<AppState> {
    let document = document(state);
    Router::new().route(
        "/openapi.json",
        get(move |State(_): State<AppState>| {
            let document = document.clone();
            async move { Json(document) }
        }),
    )
}

/// The document for this server: the annotated operations, with each operation's security requirement
/// taken from its route's scope (`<resource server>/<scope>` for bearer tokens; any session).
pub fn document(state: &AppState) -> openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let resource_server = &state.config.resource_server_id;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token of the user pool (token_use = access) whose scope claim holds the \
                     operation's scope.",
                ))
                .build(),
        ),
    );
    let cookie = if state.config.cookie_secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    };
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie,
            "The web app's session (sign in at /auth/login). State-changing requests must come from the \
             app's own origin.",
        ))),
    );
    for route in super::v1(state.clone()).routes() {
        let path = format!("/api/v1{}", route.path);
        let Some(item) = doc.paths.paths.get_mut(&path) else {
            continue;
        };
        if let Some(operation) = operation_mut(item, route) {
            add_common_responses(operation, route);
            let scope = route.scope.qualified(resource_server);
            operation.security = Some(vec![
                SecurityRequirement::new("bearer", [scope]),
                SecurityRequirement::new("session", Vec::<String>::new()),
            ]);
            operation
                .extensions
                .get_or_insert_with(Default::default)
                .merge(
                    utoipa::openapi::extensions::ExtensionsBuilder::new()
                        .add("x-required-scope", route.scope.as_str())
                        .build(),
                );
        }
    }
    doc
}

/// Adds the answers every route of its kind can give, described once here: 401 and 403 (from the route's
/// scope) for every route, 404 for a route naming a resource by id, 413 for a route that takes a body. A
/// handler documents only its own further reasons for them, which are appended.
fn add_common_responses(operation: &mut openapi::path::Operation, route: &RouteSpec) {
    let scope = route.scope.as_str();
    let mut common = vec![
        (
            "401",
            "No valid session or bearer token, or its sign-in was signed out or revoked (`unauthenticated`)."
                .to_owned(),
        ),
        (
            "403",
            format!(
                "The token's scope lacks `{scope}` (`insufficient_scope`), or the member is deactivated \
                 (`member_inactive`)."
            ),
        ),
    ];
    if route.path.contains('{') {
        common.push((
            "404",
            "No such resource in the caller's tenant; another tenant's id, and an id that is not one, answer \
             the same (`not_found`)."
                .to_owned(),
        ));
    }
    if operation.request_body.is_some() {
        common.push((
            "413",
            format!(
                "The body is larger than {} KiB (`payload_too_large`).",
                super::API_BODY_LIMIT / 1024
            ),
        ));
    }
    for (status, description) in common {
        let response = match operation.responses.responses.remove(status) {
            Some(RefOr::T(mut own)) => {
                own.description = format!("{description} {}", own.description);
                own
            }
            _ => ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        };
        operation
            .responses
            .responses
            .insert(status.to_owned(), RefOr::T(response));
    }
}

/// The operation of `item` for `route`'s method.
fn operation_mut<'a>(
    item: &'a mut PathItem,
    route: &RouteSpec,
) -> Option<&'a mut openapi::path::Operation> {
    match route.method.as_str() {
        "GET" => item.get.as_mut(),
        "POST" => item.post.as_mut(),
        "PUT" => item.put.as_mut(),
        "PATCH" => item.patch.as_mut(),
        "DELETE" => item.delete.as_mut(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::Config;

    async fn state() -> AppState {
        AppState::new(Config::local_defaults()).await.unwrap()
    }

    fn documented(doc: &openapi::OpenApi) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, present) in [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ] {
                if present {
                    out.insert((method.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn the_document_lists_exactly_the_routes_of_the_router() {
        let state = state().await;
        let doc = document(&state);
        let routes: BTreeSet<(String, String)> = crate::api::v1(state.clone())
            .routes()
            .iter()
            .map(|r| (r.method.to_string(), format!("/api/v1{}", r.path)))
            .collect();
        assert_eq!(documented(&doc), routes);
    }

    #[tokio::test]
    async fn every_operation_requires_its_routes_scope() {
        let state = state().await;
        let doc = document(&state);
        for route in crate::api::v1(state.clone()).routes() {
            let item = doc
                .paths
                .paths
                .get(&format!("/api/v1{}", route.path))
                .unwrap();
            let mut item = item.clone();
            let operation = operation_mut(&mut item, route).unwrap();
            let security = serde_json::to_value(operation.security.as_ref().unwrap()).unwrap();
            assert_eq!(
                security,
                serde_json::json!([
                    {"bearer": [route.scope.qualified(&state.config.resource_server_id)]},
                    {"session": []}
                ]),
                "{} {}",
                route.method,
                route.path
            );
        }
    }

    #[tokio::test]
    async fn every_operation_documents_the_answers_of_its_kind_of_route() {
        let state = state().await;
        let doc = serde_json::to_value(document(&state)).unwrap();
        for route in crate::api::v1(state.clone()).routes() {
            let operation = &doc["paths"][format!("/api/v1{}", route.path)]
                [route.method.as_str().to_ascii_lowercase()];
            let unauthenticated = operation["responses"]["401"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                unauthenticated.contains("`unauthenticated`"),
                "{} {}: {unauthenticated:?}",
                route.method,
                route.path
            );
            let forbidden = operation["responses"]["403"]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                forbidden.contains(&format!("lacks `{}`", route.scope.as_str()))
                    && forbidden.contains("`member_inactive`"),
                "{} {}: {forbidden:?}",
                route.method,
                route.path
            );
            assert_eq!(
                operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody"
            );
        }
        for (path, method) in [
            ("/api/v1/reports/{id}", "patch"),
            ("/api/v1/members/{id}", "patch"),
        ] {
            let responses = &doc["paths"][path][method]["responses"];
            assert!(
                responses["404"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("`not_found`")
            );
            assert!(
                responses["413"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("64 KiB")
            );
        }
        assert!(doc["paths"]["/api/v1/reports"]["get"]["responses"]["404"].is_null());
        assert!(doc["paths"]["/api/v1/reports/{id}"]["get"]["responses"]["413"].is_null());
        let create = &doc["paths"]["/api/v1/reports"]["post"]["responses"]["403"]["description"];
        assert!(
            create
                .as_str()
                .unwrap()
                .ends_with("(`plan_limit_reached`)."),
            "a handler's own reasons follow: {create}"
        );
    }

    #[tokio::test]
    async fn the_document_is_valid_json_with_the_shared_schemas() {
        let doc = document(&state().await);
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        for (list, expected) in [
            ("/api/v1/reports", &["limit", "cursor"][..]),
            ("/api/v1/files", &["limit", "cursor"][..]),
            (
                "/api/v1/members",
                &["q", "role", "status", "sort", "limit", "cursor"][..],
            ),
        ] {
            let names: Vec<&str> = json["paths"][list]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|parameter| parameter["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, expected, "{list}");
        }
        for schema in [
            "Report",
            "ErrorBody",
            "ErrorCode",
            "MemberPatch",
            "AuditAction",
        ] {
            assert!(
                json["components"]["schemas"][schema].is_object(),
                "{schema} is in the document"
            );
        }
    }
}
