//! The messages carried by the streams (jobs, results, dead letters), their schema version,
//! and their encoding as stream entry fields. Decoding never panics: a worker gets a
//! [`DecodeError`] it can put in the dead-letter stream.

use std::collections::BTreeMap;
#[cfg(feature = "runtime")]
use std::collections::HashMap;

#[cfg(feature = "runtime")]
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{Filter, PageEnd, RegistrationDate};
use crate::parts::{Detail, PartName, Vendors};

/// Version of every message body. A reader rejects other versions (dead letter, no guess).
pub const SCHEMA_VERSION: u32 = 1;

/// Entry fields: `v` (schema version), `kind`, `run` (run id, for `XRANGE` readers) and
/// `body` (the JSON message).
pub const FIELD_VERSION: &str = "v";
pub const FIELD_KIND: &str = "kind";
pub const FIELD_RUN: &str = "run";
pub const FIELD_BODY: &str = "body";

/// One category list page to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPageJob {
    pub run_id: String,
    /// The config's category name.
    pub category: String,
    /// Danawa's category number.
    pub category_number: String,
    pub page: u32,
    /// Where this listing stops; the first page's answer resolves `Last`.
    pub end_page: PageEnd,
    /// Set on the first job of a listing: its answer fans out the jobs of the other pages.
    pub fan_out: bool,
    pub filter: Option<Filter>,
    pub minimum_date: RegistrationDate,
    pub ignore_words: Vec<String>,
    pub page_base_url: String,
    /// When the run started: the updater keeps the highest sort order of a part within a run
    /// (a product can show in several filters) and starts afresh in the next one.
    pub run_started_at: chrono::DateTime<chrono::Utc>,
    /// Set when the category is in `itemsCategories`: its products get item jobs.
    pub items: Option<ItemPolicy>,
}

impl ListPageJob {
    /// The listing this page belongs to: category and filter value (`cpu|3156`).
    pub fn listing(&self) -> String {
        format!("{}|{}", self.category, self.filter.as_ref().map_or("", |f| f.value.as_str()))
    }

    /// The member of the run's enqueued-pages set for this page (`cpu|3156|2`): a page is
    /// enqueued once per run, whoever adds it (the producer or a first page's fan-out).
    pub fn page_member(&self) -> String {
        format!("{}|{}", self.listing(), self.page)
    }

    /// The same listing at another page, as a fresh job.
    pub fn for_page(&self, page: u32) -> Self {
        Self { page, fan_out: false, ..self.clone() }
    }
}

/// How the products of a listing get item jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPolicy {
    pub item_base_url: String,
    /// A part whose last price point is older than this is stale and gets an item job.
    pub stale_before: chrono::DateTime<chrono::Utc>,
}

/// One product page (with its spec table and shop list) to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemJob {
    pub run_id: String,
    pub pcode: String,
    pub category: String,
    /// Danawa's number for the category: the product page's breadcrumb must agree.
    pub category_number: String,
    pub item_base_url: String,
}

/// What the jobs stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    List(ListPageJob),
    Item(ItemJob),
}

impl Job {
    pub fn kind(&self) -> MessageKind {
        match self {
            Job::List(_) => MessageKind::ListJob,
            Job::Item(_) => MessageKind::ItemJob,
        }
    }

    pub fn run_id(&self) -> &str {
        match self {
            Job::List(job) => &job.run_id,
            Job::Item(job) => &job.run_id,
        }
    }

    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Job::List(job) => encode(self.kind(), &job.run_id, job),
            Job::Item(job) => encode(self.kind(), &job.run_id, job),
        }
    }

    /// # Errors
    /// A [`DecodeError`] naming what is wrong with the entry.
    #[cfg(feature = "runtime")]
    pub fn from_fields(fields: &HashMap<String, redis::Value>) -> Result<Self, DecodeError> {
        let envelope = Envelope::read(fields)?;
        match envelope.kind {
            MessageKind::ListJob => envelope.body().map(Job::List),
            MessageKind::ItemJob => envelope.body().map(Job::Item),
            other => Err(DecodeError::WrongKind { kind: other.as_str().into(), stream: "jobs" }),
        }
    }
}

/// A product as one list page shows it, after the config's filters (minimum date, ignore
/// words) were applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedProduct {
    pub name: String,
    pub registered: Option<RegistrationDate>,
    pub page: u32,
    /// 0-based index among the page's products (advertisements not counted).
    pub position: u32,
    pub variants: Vec<ListedVariant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedVariant {
    pub pcode: String,
    /// The variant's tag (`32GB`), when the list shows one.
    pub tag: Option<String>,
    /// `None` when the list shows no price now (일시품절, 가격비교예정, ...).
    pub price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPageResult {
    pub job: ListPageJob,
    /// `totalProductCount` of the listing.
    pub total_count: u32,
    pub products: Vec<ListedProduct>,
}

/// What an item crawl found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum ItemOutcome {
    Product(ProductInfo),
    /// Danawa answered "가격비교 서비스가 종료된 상품": no longer sold.
    Discontinued,
    /// The job could not be completed (it is in the dead-letter stream); the part's
    /// `isUpdating` flag must still be cleared.
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    pub name: PartName,
    pub stock: bool,
    pub details: BTreeMap<String, Detail>,
    pub vendors: Vendors,
    pub lowest_price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    pub job: ItemJob,
    /// When the crawler read the page: the price point's timestamp, so a redelivered result
    /// is recognised and adds no second point.
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

/// What the results stream carries.
#[derive(Debug, Clone, PartialEq)]
pub enum CrawlResult {
    List(ListPageResult),
    Item(ItemResult),
}

impl CrawlResult {
    pub fn kind(&self) -> MessageKind {
        match self {
            CrawlResult::List(_) => MessageKind::ListResult,
            CrawlResult::Item(_) => MessageKind::ItemResult,
        }
    }

    pub fn run_id(&self) -> &str {
        match self {
            CrawlResult::List(r) => &r.job.run_id,
            CrawlResult::Item(r) => &r.job.run_id,
        }
    }

    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            CrawlResult::List(r) => encode(self.kind(), self.run_id(), r),
            CrawlResult::Item(r) => encode(self.kind(), self.run_id(), r),
        }
    }

    /// # Errors
    /// A [`DecodeError`] naming what is wrong with the entry.
    #[cfg(feature = "runtime")]
    pub fn from_fields(fields: &HashMap<String, redis::Value>) -> Result<Self, DecodeError> {
        let envelope = Envelope::read(fields)?;
        match envelope.kind {
            MessageKind::ListResult => envelope.body().map(CrawlResult::List),
            MessageKind::ItemResult => envelope.body().map(CrawlResult::Item),
            other => Err(DecodeError::WrongKind { kind: other.as_str().into(), stream: "results" }),
        }
    }
}

/// Why an entry went to the dead-letter stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeadReason {
    /// The entry did not decode (bad JSON, unknown kind or schema version).
    Undecodable,
    /// One request of the job was tried `--max-attempts` times without success.
    MaxAttempts,
    /// Delivered more than `--max-deliveries` times (its consumers kept dying).
    MaxDeliveries,
    /// The answer did not have the expected markup; the page is kept in `page`.
    Parse,
    /// The answer was valid but the job cannot succeed (e.g. a category not in the config).
    Rejected,
    /// A result failed validation before it could be written.
    Invalid,
}

/// The request of a job that used up its attempts: what the dead letter names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedRequest {
    /// The answer it was for: `category`, `list`, `product`, `spec`, `shops`.
    pub endpoint: String,
    pub url: String,
    /// What it was about: `pcode 1234`, `page 2 of cpu|3156`, `category 112747`.
    pub target: String,
}

/// An entry that could not be processed, with what is needed to inspect or retry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub source_stream: String,
    pub source_id: String,
    /// `kind` field of the original entry (`unknown` when absent).
    pub kind: String,
    pub run_id: Option<String>,
    /// The original entry's fields, verbatim (lossy UTF-8), so `retry` can re-add it.
    pub fields: BTreeMap<String, String>,
    pub reason: DeadReason,
    /// Attempts of the failed request (of the job, for entries that failed as a whole).
    pub attempts: u32,
    pub last_error: String,
    /// The request that used up its attempts, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<FailedRequest>,
    /// The answer that failed to parse, cut to a size cap.
    pub page: Option<String>,
    pub failed_at: chrono::DateTime<chrono::Utc>,
}

impl DeadLetter {
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        encode(MessageKind::DeadLetter, self.run_id.as_deref().unwrap_or(""), self)
    }

    /// The letter's `kind` alone, the rest of its body skipped, not built (the monitoring page
    /// filters thousands of letters by kind per page); `None` when the entry does not decode.
    #[cfg(feature = "runtime")]
    pub fn kind_of(fields: &HashMap<String, redis::Value>) -> Option<String> {
        #[derive(Deserialize)]
        struct KindOnly {
            kind: String,
        }
        let envelope = Envelope::read(fields).ok()?;
        if envelope.kind != MessageKind::DeadLetter {
            return None;
        }
        serde_json::from_str::<KindOnly>(envelope.body).ok().map(|k| k.kind)
    }

    /// # Errors
    /// A [`DecodeError`] naming what is wrong with the entry.
    #[cfg(feature = "runtime")]
    pub fn from_fields(fields: &HashMap<String, redis::Value>) -> Result<Self, DecodeError> {
        let envelope = Envelope::read(fields)?;
        match envelope.kind {
            MessageKind::DeadLetter => envelope.body(),
            other => Err(DecodeError::WrongKind { kind: other.as_str().into(), stream: "dead" }),
        }
    }
}

/// The `kind` field of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    ListJob,
    ItemJob,
    ListResult,
    ItemResult,
    DeadLetter,
}

impl MessageKind {
    pub const ALL: [MessageKind; 5] =
        [Self::ListJob, Self::ItemJob, Self::ListResult, Self::ItemResult, Self::DeadLetter];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListJob => "list",
            Self::ItemJob => "item",
            Self::ListResult => "list-result",
            Self::ItemResult => "item-result",
            Self::DeadLetter => "dead-letter",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Why an entry could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("field `{0}` is missing")]
    MissingField(&'static str),
    #[error("field `{0}` is not UTF-8 text")]
    NotText(&'static str),
    #[error("schema version {0:?} is not supported (this build reads {SCHEMA_VERSION})")]
    UnknownVersion(String),
    #[error("unknown message kind {0:?}")]
    UnknownKind(String),
    #[error("a {kind} message does not belong in the {stream} stream")]
    WrongKind { kind: String, stream: &'static str },
    #[error("body does not match the {kind} schema: {error}")]
    Body { kind: &'static str, error: String },
}

fn encode<T: Serialize>(kind: MessageKind, run_id: &str, body: &T) -> Vec<(&'static str, String)> {
    // Serialising these plain structs cannot fail (no maps with non-string keys, no I/O).
    let body = serde_json::to_string(body).unwrap_or_else(|e| format!("{{\"encodeError\":{:?}}}", e.to_string()));
    vec![
        (FIELD_VERSION, SCHEMA_VERSION.to_string()),
        (FIELD_KIND, kind.as_str().to_owned()),
        (FIELD_RUN, run_id.to_owned()),
        (FIELD_BODY, body),
    ]
}

#[cfg(feature = "runtime")]
struct Envelope<'a> {
    kind: MessageKind,
    body: &'a str,
}

#[cfg(feature = "runtime")]
impl<'a> Envelope<'a> {
    fn read(fields: &'a HashMap<String, redis::Value>) -> Result<Self, DecodeError> {
        let version = text_field(fields, FIELD_VERSION)?;
        if version != SCHEMA_VERSION.to_string() {
            return Err(DecodeError::UnknownVersion(version.to_owned()));
        }
        let kind = text_field(fields, FIELD_KIND)?;
        let kind = MessageKind::parse(kind).ok_or_else(|| DecodeError::UnknownKind(kind.to_owned()))?;
        Ok(Self { kind, body: text_field(fields, FIELD_BODY)? })
    }

    fn body<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_str(self.body)
            .map_err(|e| DecodeError::Body { kind: self.kind.as_str(), error: e.to_string() })
    }
}

#[cfg(feature = "runtime")]
fn text_field<'a>(fields: &'a HashMap<String, redis::Value>, name: &'static str) -> Result<&'a str, DecodeError> {
    match fields.get(name) {
        None => Err(DecodeError::MissingField(name)),
        Some(redis::Value::BulkString(bytes)) => std::str::from_utf8(bytes).map_err(|_| DecodeError::NotText(name)),
        Some(redis::Value::SimpleString(text)) => Ok(text),
        Some(_) => Err(DecodeError::NotText(name)),
    }
}

/// The entry's fields as text, for a dead letter that keeps the original verbatim.
#[cfg(feature = "runtime")]
pub fn fields_as_text(fields: &HashMap<String, redis::Value>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| {
            let text = match v {
                redis::Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                redis::Value::SimpleString(s) => s.clone(),
                other => format!("{other:?}"),
            };
            (k.clone(), text)
        })
        .collect()
}
