//! Checks a decoded result before it is written: a result that would store a document breaking
//! the contract (no pcode, a negative price, no category, ...) is rejected with a reason, so the
//! caller dead-letters it while the rest of its batch commits.

use common::messages::{CrawlResult, ItemOutcome, ItemResult, ListPageResult, ListedProduct, ProductInfo};
use common::parts::{Vendor, Vendors};

use crate::contract::is_pcode;

/// Why a result cannot be written. The text goes into the dead letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {problem}")]
pub struct Invalid {
    pub kind: &'static str,
    pub problem: String,
}

/// # Errors
/// The first problem found, as an [`Invalid`].
pub fn validate(result: &CrawlResult) -> Result<(), Invalid> {
    match result {
        CrawlResult::List(list) => validate_list(list).map_err(|problem| Invalid { kind: "list result", problem }),
        CrawlResult::Item(item) => validate_item(item).map_err(|problem| Invalid { kind: "item result", problem }),
    }
}

fn validate_list(list: &ListPageResult) -> Result<(), String> {
    let job = &list.job;
    non_empty("job.runId", &job.run_id)?;
    non_empty("job.category", &job.category)?;
    if job.page == 0 {
        return Err("job.page is 0 (pages count from 1)".into());
    }
    if let Some(policy) = &job.items {
        non_empty("job.items.itemBaseUrl", &policy.item_base_url)?;
        non_empty("job.categoryNumber", &job.category_number)?;
    }
    for (i, product) in list.products.iter().enumerate() {
        validate_product(product).map_err(|p| format!("products[{i}]: {p}"))?;
    }
    Ok(())
}

fn validate_product(product: &ListedProduct) -> Result<(), String> {
    non_empty("name", &product.name)?;
    if product.page == 0 {
        return Err("page is 0".into());
    }
    for (i, variant) in product.variants.iter().enumerate() {
        pcode(&format!("variants[{i}].pcode"), &variant.pcode)?;
        if let Some(price) = variant.price {
            not_negative(&format!("variants[{i}].price"), price)?;
        }
        if variant.tag.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(format!("variants[{i}].tag is blank"));
        }
    }
    Ok(())
}

fn validate_item(item: &ItemResult) -> Result<(), String> {
    pcode("job.pcode", &item.job.pcode)?;
    non_empty("job.runId", &item.job.run_id)?;
    non_empty("job.category", &item.job.category)?;
    match &item.outcome {
        ItemOutcome::Product(info) => validate_info(info),
        ItemOutcome::Discontinued | ItemOutcome::Failed { .. } => Ok(()),
    }
}

fn validate_info(info: &ProductInfo) -> Result<(), String> {
    non_empty("name.fullName", &info.name.full_name)?;
    if let Some(price) = info.lowest_price {
        not_negative("lowestPrice", price)?;
    }
    for (key, detail) in &info.details {
        // A `$` key would be read as an operator by older servers and by many readers.
        if key.trim().is_empty() || key.starts_with('$') {
            return Err(format!("details key {key:?} is not a usable field name"));
        }
        non_empty(&format!("details[{key:?}].type"), &detail.section)?;
    }
    validate_vendors(&info.vendors)
}

fn validate_vendors(vendors: &Vendors) -> Result<(), String> {
    let lists = [
        ("openMarket", &vendors.open_market),
        ("mall", &vendors.mall),
        ("credit", &vendors.credit),
        ("cash", &vendors.cash),
    ];
    for (list, entries) in lists {
        for (i, vendor) in entries.iter().enumerate() {
            validate_vendor(vendor).map_err(|p| format!("vendors.{list}[{i}].{p}"))?;
        }
    }
    Ok(())
}

fn validate_vendor(vendor: &Vendor) -> Result<(), String> {
    non_empty("vendorName", &vendor.vendor_name)?;
    not_negative("price", vendor.price)?;
    vendor.shipping_cost.map_or(Ok(()), |cost| not_negative("shippingCost", cost))
}

fn non_empty(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{field} is empty"))
    } else {
        Ok(())
    }
}

fn pcode(field: &str, value: &str) -> Result<(), String> {
    if is_pcode(value) {
        Ok(())
    } else {
        Err(format!("{field} {value:?} is not a pcode (digits)"))
    }
}

fn not_negative(field: &str, value: i64) -> Result<(), String> {
    if value < 0 {
        Err(format!("{field} is negative ({value})"))
    } else {
        Ok(())
    }
}
