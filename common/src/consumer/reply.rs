//! Parsing of the raw `XREADGROUP` and `XAUTOCLAIM` replies: entries deleted while pending come
//! back with nil fields, which the typed replies of redis-rs do not accept.

use std::collections::HashMap;

use redis::Value;

use super::RawEntry;

/// `XREADGROUP` reply: `[[stream, [[id, [f, v, ...] | nil], ...]]]` or nil. An entry deleted
/// while pending comes back with nil fields; it is kept, with no fields, so it is dead-lettered
/// (as undecodable) rather than left pending forever.
pub(super) fn parse_read_reply(reply: Value) -> Vec<RawEntry> {
    let mut out = Vec::new();
    for stream in into_items(reply) {
        let mut parts = into_items(stream).into_iter();
        let _name = parts.next();
        if let Some(entries) = parts.next() {
            out.extend(into_items(entries).into_iter().filter_map(parse_entry));
        }
    }
    out
}

/// `XAUTOCLAIM` reply: `[next-cursor, [[id, fields], ...], [deleted ids]]`.
pub(super) fn parse_autoclaim_reply(reply: Value) -> (String, Vec<RawEntry>) {
    let mut parts = into_items(reply).into_iter();
    let cursor = parts.next().and_then(as_text).unwrap_or_else(|| "0-0".into());
    let entries = parts.next().map(into_items).unwrap_or_default().into_iter().filter_map(parse_entry).collect();
    (cursor, entries)
}

fn parse_entry(entry: Value) -> Option<RawEntry> {
    let mut parts = into_items(entry).into_iter();
    let id = parts.next().and_then(as_text)?;
    let mut fields = HashMap::new();
    let mut flat = parts.next().map(into_items).unwrap_or_default().into_iter();
    while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
        if let Some(key) = as_text(key) {
            fields.insert(key, value);
        }
    }
    Some((id, fields))
}

fn into_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn as_text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}
