//! Checks a decoded result before it is written: a result that would store a document breaking
//! the contract (no pcode, a negative price, no category, ...) is rejected with a reason, so the
//! caller dead-letters it while the rest of its batch commits.

use common::messages::{CrawlResult, ItemOutcome, ItemResult, ListPageResult, ListedProduct, ProductInfo};
use common::parts::{Vendor, Vendors};

use crate::contract::is_pcode;

/// Why a result cannot be written. The text goes into the dead letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {problem}")]
pub(crate) struct Invalid {
    pub kind: &'static str,
    pub problem: String,
}

/// One problem, with the path of the field it is about.
#[derive(Debug)]
struct Problem(String);

impl Problem {
    /// The problem of a part of a larger value: its path goes in front (`products[3]: `).
    fn within(self, path: &str) -> Self {
        Self(format!("{path}{}", self.0))
    }
}

/// # Errors
/// The first problem found, as an [`Invalid`].
pub(crate) fn validate(result: &CrawlResult) -> Result<(), Invalid> {
    match result {
        CrawlResult::List(list) => validate_list(list).map_err(|p| Invalid { kind: "list result", problem: p.0 }),
        CrawlResult::Item(item) => validate_item(item).map_err(|p| Invalid { kind: "item result", problem: p.0 }),
    }
}

fn validate_list(list: &ListPageResult) -> Result<(), Problem> {
    let job = &list.job;
    non_empty("job.runId", &job.run_id)?;
    non_empty("job.category", &job.category)?;
    if job.page == 0 {
        return Err(Problem("job.page is 0 (pages count from 1)".into()));
    }
    if let Some(policy) = &job.items {
        non_empty("job.items.itemBaseUrl", &policy.item_base_url)?;
        non_empty("job.categoryNumber", &job.category_number)?;
    }
    for (i, product) in list.products.iter().enumerate() {
        validate_product(product).map_err(|p| p.within(&format!("products[{i}]: ")))?;
    }
    Ok(())
}

fn validate_product(product: &ListedProduct) -> Result<(), Problem> {
    non_empty("name", &product.name)?;
    if product.page == 0 {
        return Err(Problem("page is 0".into()));
    }
    for (i, variant) in product.variants.iter().enumerate() {
        pcode(&format!("variants[{i}].pcode"), &variant.pcode)?;
        if let Some(price) = variant.price {
            not_negative(&format!("variants[{i}].price"), price)?;
        }
        if variant.tag.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(Problem(format!("variants[{i}].tag is blank")));
        }
    }
    Ok(())
}

fn validate_item(item: &ItemResult) -> Result<(), Problem> {
    pcode("job.pcode", &item.job.pcode)?;
    non_empty("job.runId", &item.job.run_id)?;
    non_empty("job.category", &item.job.category)?;
    match &item.outcome {
        ItemOutcome::Product(info) => validate_info(info),
        ItemOutcome::Discontinued | ItemOutcome::Failed { .. } => Ok(()),
    }
}

fn validate_info(info: &ProductInfo) -> Result<(), Problem> {
    non_empty("name.fullName", &info.name.full_name)?;
    if let Some(price) = info.lowest_price {
        not_negative("lowestPrice", price)?;
    }
    for (key, detail) in &info.details {
        // A `$` key would be read as an operator by older servers and by many readers.
        if key.trim().is_empty() || key.starts_with('$') {
            return Err(Problem(format!("details key {key:?} is not a usable field name")));
        }
        non_empty(&format!("details[{key:?}].type"), &detail.section)?;
    }
    validate_vendors(&info.vendors)
}

fn validate_vendors(vendors: &Vendors) -> Result<(), Problem> {
    let lists = [
        ("openMarket", &vendors.open_market),
        ("mall", &vendors.mall),
        ("credit", &vendors.credit),
        ("cash", &vendors.cash),
    ];
    for (list, entries) in lists {
        for (i, vendor) in entries.iter().enumerate() {
            validate_vendor(vendor).map_err(|p| p.within(&format!("vendors.{list}[{i}].")))?;
        }
    }
    Ok(())
}

fn validate_vendor(vendor: &Vendor) -> Result<(), Problem> {
    non_empty("vendorName", &vendor.vendor_name)?;
    not_negative("price", vendor.price)?;
    vendor.shipping_cost.map_or(Ok(()), |cost| not_negative("shippingCost", cost))
}

fn non_empty(field: &str, value: &str) -> Result<(), Problem> {
    if value.trim().is_empty() {
        Err(Problem(format!("{field} is empty")))
    } else {
        Ok(())
    }
}

fn pcode(field: &str, value: &str) -> Result<(), Problem> {
    if is_pcode(value) {
        Ok(())
    } else {
        Err(Problem(format!("{field} {value:?} is not a pcode (digits)")))
    }
}

fn not_negative(field: &str, value: i64) -> Result<(), Problem> {
    if value < 0 {
        Err(Problem(format!("{field} is negative ({value})")))
    } else {
        Ok(())
    }
}
