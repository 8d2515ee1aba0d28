//! After a run: the `parts` collection against the sim's ground truth, part by part, and what
//! the crawlers' metrics say about incomplete answers. A crawl that stores wrong data without a
//! dead letter shows here as differing parts.

use std::collections::BTreeMap;

use anyhow::Context as _;
use common::parts::Part;
use futures::TryStreamExt;
use serde::Serialize;

/// The database the workers write (their default).
const DATABASE: &str = common::settings::DEFAULT_MONGODB_DB;

#[derive(Debug, Clone, Default, Serialize)]
pub struct TruthCheck {
    pub truth_parts: usize,
    /// Parts whose document differs from the truth (timestamps aside).
    pub differing: usize,
    /// How many differing parts differ in each field.
    pub differing_fields: BTreeMap<&'static str, usize>,
    pub missing: usize,
    pub extra: usize,
}

/// Compares the stored parts with `truth`.
///
/// # Errors
/// MongoDB unreachable, or a document that does not decode as a part.
pub(crate) async fn check(mongo_uri: &str, truth: Vec<Part>) -> anyhow::Result<TruthCheck> {
    let client = mongodb::Client::with_uri_str(mongo_uri).await.context("MongoDB")?;
    let docs: Vec<bson::Document> = client
        .database(DATABASE)
        .collection::<bson::Document>(common::parts::COLLECTION)
        .find(bson::doc! {})
        .await
        .context("reading parts")?
        .try_collect()
        .await
        .context("reading parts")?;
    let mut stored: BTreeMap<String, Part> = BTreeMap::new();
    for doc in docs {
        let part: Part = bson::from_document(doc).context("a stored document is not a part")?;
        stored.insert(part.pcode.clone(), part);
    }
    let mut check = TruthCheck { truth_parts: truth.len(), ..TruthCheck::default() };
    let truth: BTreeMap<String, Part> = truth.into_iter().map(|p| (p.pcode.clone(), p)).collect();
    check.extra = stored.keys().filter(|k| !truth.contains_key(*k)).count();
    for (pcode, want) in &truth {
        let Some(got) = stored.get(pcode) else {
            check.missing += 1;
            continue;
        };
        let fields = differing_fields(&untimed(got), want);
        if !fields.is_empty() {
            check.differing += 1;
            for field in fields {
                *check.differing_fields.entry(field).or_default() += 1;
            }
        }
    }
    Ok(check)
}

fn untimed(part: &Part) -> Part {
    let mut part = part.clone();
    part.created_at = None;
    part.updated_at = None;
    part.prices.iter_mut().for_each(|p| p.timestamp = None);
    part
}

fn differing_fields(got: &Part, want: &Part) -> Vec<&'static str> {
    let checks: [(&'static str, bool); 10] = [
        ("category", got.category == want.category),
        ("name", got.name == want.name),
        ("variants", got.variants == want.variants),
        ("isVariant", got.is_variant == want.is_variant),
        ("sortOrder", got.sort_order == want.sort_order),
        ("stock", got.stock == want.stock),
        ("details", got.details == want.details),
        ("vendors", got.vendors == want.vendors),
        ("prices", got.prices == want.prices),
        ("isUpdating", got.is_updating == want.is_updating),
    ];
    checks.into_iter().filter(|(_, same)| !same).map(|(name, _)| name).collect()
}

/// The sum of a counter family over the workers' `/metrics` (0 where a worker does not
/// export it: a build from before the family existed).
pub(crate) async fn counter_sum(ports: &[u16], family: &str) -> u64 {
    let http = reqwest::Client::builder().no_proxy().build();
    let Ok(http) = http else { return 0 };
    let mut total = 0.0;
    for port in ports {
        let Ok(response) = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await else { continue };
        let Ok(text) = response.text().await else { continue };
        total += text
            .lines()
            .filter(|line| line.starts_with(family) && !line.starts_with('#'))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    total as u64
}
