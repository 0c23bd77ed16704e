//! The web console at `/webui/`: one page that shows databases, collections, segments,
//! indexes, snapshots with their sizes and restore jobs with live progress, and creates,
//! restores and drops snapshots.
//!
//! Served on the gRPC port beside the REST API and on the metrics port (where Milvus
//! serves its WebUI). The page is plain HTML, CSS and JavaScript from `assets/`, embedded
//! in the binary, so it works offline and references no other host (its
//! Content-Security-Policy lets it load nothing from elsewhere). It reads a small JSON
//! API under `/webui/api/`:
//!
//! | route | what |
//! | --- | --- |
//! | `GET overview` | server version; every database's collections with rows, load state, fields |
//! | `GET collection?db=D&name=C` | one collection's segments, indexes and snapshots |
//! | `GET jobs` | restore jobs of every database |
//! | `POST snapshots/create` | `{db, collection, name, description}` |
//! | `POST snapshots/restore` | `{db, collection, name, targetDb, targetCollection}`, answers `{jobId}` |
//! | `POST snapshots/drop` | `{db, collection, name}` |
//!
//! Replies use the REST API's envelope: `{"code": 0, "data": ...}`, or `{"code": <Milvus
//! code>, "message": "..."}`. Reads call the engine; the actions call the gRPC service,
//! as REST does, so their validation, engine calls and error map (`status.rs`) are the
//! gRPC ones.
//!
//! Every route is in [`router`], so one layer (authentication) can wrap them all.

mod api;

use crate::access::{Access, Caller, Origin};
use crate::rest::{self, Failure, Reply};
use crate::service::MilvusApi;
use crate::status;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use quiver_engine::Engine;
use quiver_engine::catalog::model::DEFAULT_DATABASE;
use std::sync::Arc;

/// What the console's handlers call: the gRPC service for actions, the engine for reads.
#[derive(Clone)]
pub struct Console {
    api: Arc<MilvusApi>,
    engine: Arc<Engine>,
}

/// Every console route, under `/webui` (Milvus's WebUI path): the page, its assets and
/// its JSON API.
pub fn router(api: Arc<MilvusApi>, engine: Arc<Engine>, access: Arc<Access>) -> Router {
    Router::new()
        .route("/webui/api/overview", get(api::overview))
        .route("/webui/api/collection", get(api::collection))
        .route("/webui/api/jobs", get(api::jobs))
        .route("/webui/api/snapshots/create", post(api::create_snapshot))
        .route("/webui/api/snapshots/restore", post(api::restore_snapshot))
        .route("/webui/api/snapshots/drop", post(api::drop_snapshot))
        .route_layer(middleware::from_fn_with_state(access, admitted))
        // The page and its assets hold no data, so anyone may load them (under
        // authorization the page then asks for a user); only the API above is guarded.
        // The page's relative asset and API paths need the trailing slash.
        .route("/webui", get(|| async { Redirect::permanent("/webui/") }))
        .route("/webui/", get(|| asset(Asset::PAGE)))
        .route("/webui/console.css", get(|| asset(Asset::STYLE)))
        .route("/webui/console.js", get(|| asset(Asset::SCRIPT)))
        .with_state(Console { api, engine })
}

/// With authorization on, the API answers only root and admins (see
/// [`Access::console_user`]); their calls that change things go through the service's
/// per-RPC check as that user.
async fn admitted(State(access): State<Arc<Access>>, request: axum::extract::Request, next: Next) -> Response {
    let origin = Origin::of(&request);
    let peer = origin.peer;
    match access.console_user(request.headers(), origin).await {
        Ok(user) => rest::as_caller(Caller { user, db: DEFAULT_DATABASE.to_string(), peer }, next.run(request)).await,
        Err(refusal) => Reply(Err(Failure::from(status::of_refusal(&refusal)))).into_response(),
    }
}

/// An embedded file and its content type.
struct Asset {
    body: &'static str,
    content_type: &'static str,
}

impl Asset {
    const PAGE: Asset = Asset { body: include_str!("assets/index.html"), content_type: "text/html; charset=utf-8" };
    const STYLE: Asset = Asset { body: include_str!("assets/console.css"), content_type: "text/css; charset=utf-8" };
    const SCRIPT: Asset = Asset { body: include_str!("assets/console.js"), content_type: "text/javascript; charset=utf-8" };
}

/// Loads nothing from another origin, inline nothing: the page is what the binary holds.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn asset(asset: Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // A new binary serves new assets: let browsers check every time.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assets_name_no_other_host_and_the_page_loads_only_them() {
        for asset in [Asset::PAGE, Asset::STYLE, Asset::SCRIPT] {
            assert!(!asset.body.contains("http://") && !asset.body.contains("https://"), "{}", asset.content_type);
        }
        let page = Asset::PAGE.body;
        let loaded: Vec<&str> =
            page.split(['"', '\'']).filter(|part| part.ends_with(".js") || part.ends_with(".css") || part.ends_with(".png")).collect();
        assert_eq!(loaded, ["console.css", "console.js"]);
        assert!(!page.contains("<script>") && !page.contains("style="), "inline code would need a laxer Content-Security-Policy");
    }
}
