//! The control endpoints under `/_sim/`: stats, request log, reset, faults, ground truth and
//! a catalogue summary. Never subject to faults and never logged.

use hyper::{Method, Response, StatusCode};
use serde::Serialize;

use super::routes::{full, Body, SimRequest};
use super::site::Fields;
use super::SimState;
use crate::faults::FaultConfig;
use crate::truth::{default_config, ground_truth};

const JSON: &str = "application/json";

fn json<T: Serialize>(value: &T) -> Response<Body> {
    match serde_json::to_vec_pretty(value) {
        Ok(bytes) => full(StatusCode::OK, JSON, bytes),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    full(status, JSON, body)
}

pub(crate) fn handle(state: &SimState, req: &SimRequest) -> Response<Body> {
    match (&req.method, req.path.as_str()) {
        (&Method::GET, "/_sim/stats") => json(&state.observer.stats()),
        (&Method::GET, "/_sim/log") => {
            let query = Fields::parse(req.query.as_bytes());
            let since = query.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
            let limit = query.get("limit").and_then(|s| s.parse().ok()).unwrap_or(1_000);
            json(&state.observer.log(since, limit))
        }
        (&Method::POST, "/_sim/reset") => {
            state.observer.reset();
            json(&serde_json::json!({ "reset": true }))
        }
        (&Method::GET, "/_sim/faults") => json(&state.faults()),
        (&Method::POST | &Method::PUT, "/_sim/faults") => set_faults(state, req),
        (&Method::GET, "/_sim/truth") => truth(state, None),
        (&Method::POST, "/_sim/truth") => truth(state, Some(&req.body)),
        (&Method::GET, "/_sim/catalogue") => json(&summary(state)),
        _ => error(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

fn set_faults(state: &SimState, req: &SimRequest) -> Response<Body> {
    // Fields left out take their defaults: POST {} clears every fault.
    let faults: FaultConfig = match serde_json::from_slice(&req.body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match state.set_faults(faults) {
        Ok(()) => json(&state.faults()),
        Err(problem) => error(StatusCode::BAD_REQUEST, &problem.to_string()),
    }
}

fn truth(state: &SimState, body: Option<&[u8]>) -> Response<Body> {
    let config = match body {
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            common::config::ScrapeConfig::parse(&text)
                .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        }
        None => match &state.truth_config {
            Some(config) => Ok(config.clone()),
            None => default_config().map_err(|e| e.to_string()),
        },
    };
    match config {
        Ok(config) => json(&ground_truth(&state.catalogue, &config)),
        Err(problem) => error(StatusCode::BAD_REQUEST, &problem.to_string()),
    }
}

#[derive(Serialize)]
struct CategorySummary {
    name: &'static str,
    cate: u32,
    /// The `cate` of the Next.js payload when it differs (HDD).
    next_cate: Option<u32>,
    list_category_code: u32,
    category_code: u32,
    group: u32,
    depth: u32,
    physics: [u32; 4],
    /// The search-option checkbox values the list endpoint filters by.
    attribute_values: Vec<String>,
    makers: Vec<u32>,
    products: usize,
    pcodes: usize,
}

fn summary(state: &SimState) -> serde_json::Value {
    let categories: Vec<CategorySummary> = state
        .catalogue
        .categories
        .iter()
        .map(|c| CategorySummary {
            name: c.def.name,
            cate: c.def.number,
            next_cate: c.def.next_cate,
            list_category_code: c.def.list_code,
            category_code: c.def.category_code,
            group: c.def.group,
            depth: c.def.depth,
            physics: c.def.physics,
            attribute_values: c.def.offered_attributes().map(|(_, _, value)| value).collect(),
            makers: c.def.makers.iter().map(|m| m.code).collect(),
            products: c.products.len(),
            pcodes: c.products.iter().map(|p| p.variants.len()).sum(),
        })
        .collect();
    serde_json::json!({ "params": state.catalogue.params, "categories": categories })
}
