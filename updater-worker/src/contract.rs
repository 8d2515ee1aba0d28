//! A checker that a stored `parts` document honours the DESIGN.md §6 contract with the web API:
//! field names, types, required fields, and no field the API does not know (besides `_id`).
//! Every test runs it over every document it wrote.

use std::fmt;

use bson::{Bson, Document};

/// One way a document breaks the contract, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The vendor lists every part carries, even when empty.
pub const VENDOR_LISTS: [&str; 4] = ["openMarket", "mall", "credit", "cash"];

/// Checks one document; an empty list means it conforms.
pub fn check_part(doc: &Document) -> Vec<Violation> {
    let mut out = Violations::default();
    let top = [
        ("pcode", Kind::Str),
        ("category", Kind::Str),
        ("name", Kind::Doc),
        ("variants", Kind::Array),
        ("isVariant", Kind::Bool),
        ("sortOrder", Kind::Number),
        ("stock", Kind::Bool),
        ("details", Kind::Doc),
        ("vendors", Kind::Doc),
        ("prices", Kind::Array),
        ("isUpdating", Kind::Bool),
        ("createdAt", Kind::Date),
        ("updatedAt", Kind::Date),
    ];
    // Written by every item result, whatever its outcome: when the part's last item job
    // finished and for which run (a list result of that run then never marks it updating).
    let optional = [("itemCheckedAt", Kind::Date), ("itemCheckedRun", Kind::Str)];
    out.fields("", doc, &top, &optional, &["_id"]);
    if let Ok(pcode) = doc.get_str("pcode") {
        if !is_pcode(pcode) {
            out.push("pcode", format!("{pcode:?} is not a Danawa product code (digits)"));
        }
    }
    if let Ok(name) = doc.get_document("name") {
        out.fields("name", name, &[("fullName", Kind::Str)], &[("tag", Kind::Str)], &[]);
    }
    if let Ok(variants) = doc.get_array("variants") {
        out.each("variants", variants, |out, path, v| out.kind(path, v, Kind::Str));
    }
    if let Ok(details) = doc.get_document("details") {
        check_details(&mut out, details);
    }
    if let Ok(vendors) = doc.get_document("vendors") {
        check_vendors(&mut out, vendors);
    }
    if let Ok(prices) = doc.get_array("prices") {
        out.each("prices", prices, |out, path, point| {
            out.sub_document(path, point, &[("timestamp", Kind::Date), ("price", Kind::Number)], &[]);
        });
    }
    out.0
}

/// Whether `text` looks like a Danawa pcode: non-empty ASCII digits.
pub fn is_pcode(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn check_details(out: &mut Violations, details: &Document) {
    for (key, value) in details {
        let path = format!("details.{key}");
        out.sub_document(&path, value, &[("value", Kind::Str), ("type", Kind::Str)], &[]);
    }
}

fn check_vendors(out: &mut Violations, vendors: &Document) {
    let lists = VENDOR_LISTS.map(|name| (name, Kind::Array));
    out.fields("vendors", vendors, &lists, &[], &[]);
    let required = [
        ("vendorName", Kind::Str),
        ("vendorUrl", Kind::Str),
        ("price", Kind::Number),
        ("shippingCost", Kind::NumberOrNull),
    ];
    let optional = [("vendorCode", Kind::Str), ("card", Kind::Str)];
    for list in VENDOR_LISTS {
        if let Ok(entries) = vendors.get_array(list) {
            out.each(&format!("vendors.{list}"), entries, |out, path, v| {
                out.sub_document(path, v, &required, &optional);
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    /// The contract says "number": the updater writes 64-bit integers, but any BSON number
    /// reads as one for the web API.
    Number,
    /// A number, or `null` where the contract allows an unknown amount (`shippingCost`).
    NumberOrNull,
    Date,
    Doc,
    Array,
}

impl Kind {
    fn matches(self, value: &Bson) -> bool {
        matches!(
            (self, value),
            (Kind::Str, Bson::String(_))
                | (Kind::Bool, Bson::Boolean(_))
                | (Kind::Number | Kind::NumberOrNull, Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_))
                | (Kind::NumberOrNull, Bson::Null)
                | (Kind::Date, Bson::DateTime(_))
                | (Kind::Doc, Bson::Document(_))
                | (Kind::Array, Bson::Array(_))
        )
    }
}

#[derive(Default)]
struct Violations(Vec<Violation>);

impl Violations {
    fn push(&mut self, path: &str, problem: String) {
        self.0.push(Violation { path: path.to_owned(), problem });
    }

    fn kind(&mut self, path: &str, value: &Bson, kind: Kind) {
        if !kind.matches(value) {
            self.push(path, format!("expected {kind:?}, found {:?}", value.element_type()));
        }
    }

    /// Required and optional fields of `doc` with their kinds; any other field is unknown
    /// unless listed in `ignored`.
    fn fields(
        &mut self,
        prefix: &str,
        doc: &Document,
        required: &[(&str, Kind)],
        optional: &[(&str, Kind)],
        ignored: &[&str],
    ) {
        let path = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        for (name, kind) in required {
            match doc.get(name) {
                Some(value) => self.kind(&path(name), value, *kind),
                None => self.push(&path(name), "required field is missing".into()),
            }
        }
        for (name, kind) in optional {
            if let Some(value) = doc.get(name) {
                self.kind(&path(name), value, *kind);
            }
        }
        for key in doc.keys() {
            let known = required.iter().chain(optional).any(|(name, _)| name == key) || ignored.contains(&key.as_str());
            if !known {
                self.push(&path(key), "field is not in the contract".into());
            }
        }
    }

    fn sub_document(&mut self, path: &str, value: &Bson, required: &[(&str, Kind)], optional: &[(&str, Kind)]) {
        match value {
            Bson::Document(doc) => self.fields(path, doc, required, optional, &[]),
            other => self.push(path, format!("expected a document, found {:?}", other.element_type())),
        }
    }

    fn each(&mut self, path: &str, items: &[Bson], mut check: impl FnMut(&mut Self, &str, &Bson)) {
        for (i, item) in items.iter().enumerate() {
            check(self, &format!("{path}.{i}"), item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn good() -> Document {
        let now = bson::DateTime::now();
        doc! {
            "_id": bson::oid::ObjectId::new(),
            "pcode": "123",
            "category": "cpu",
            "name": {"fullName": "AMD 7800X3D", "tag": "정품"},
            "variants": ["123", "124"],
            "isVariant": false,
            "sortOrder": 1_000_000_i64,
            "stock": true,
            "details": {"코드 네임": {"value": "라파엘", "type": "CPU 사양"}},
            "vendors": {
                "openMarket": [{"vendorName": "11번가", "vendorUrl": "https://x", "price": 1_i64, "shippingCost": 0_i64}],
                "mall": [], "credit": [], "cash": [],
            },
            "prices": [{"timestamp": now, "price": 1_i64}],
            "isUpdating": false,
            "createdAt": now,
            "updatedAt": now,
        }
    }

    #[test]
    fn a_complete_document_conforms() {
        assert_eq!(check_part(&good()), vec![]);
    }

    #[test]
    fn missing_unknown_and_mistyped_fields_are_named() {
        let mut doc = good();
        doc.remove("stock");
        doc.insert("extra", 1);
        doc.insert("sortOrder", "high");
        doc.get_document_mut("name").expect("name").insert("nick", "x");
        let paths: Vec<String> = check_part(&doc).into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["sortOrder", "stock", "extra", "name.nick"]);
    }

    #[test]
    fn the_item_check_fields_are_optional_and_typed() {
        let mut doc = good();
        doc.insert("itemCheckedAt", bson::DateTime::now());
        doc.insert("itemCheckedRun", "20250101-000000-abcd");
        assert_eq!(check_part(&doc), vec![]);
        doc.insert("itemCheckedAt", "today");
        let paths: Vec<String> = check_part(&doc).into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["itemCheckedAt"]);
    }

    #[test]
    fn nested_vendor_and_price_fields_are_checked() {
        let mut doc = good();
        doc.insert("prices", vec![Bson::Document(doc! {"timestamp": "yesterday", "price": 1})]);
        doc.get_document_mut("vendors").expect("vendors").remove("cash");
        let paths: Vec<String> = check_part(&doc).into_iter().map(|v| v.path).collect();
        assert_eq!(paths, ["vendors.cash", "prices.0.timestamp"]);
    }
}
