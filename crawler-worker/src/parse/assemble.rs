//! Combines what an item job fetched (product page, spec table, shop list) into the
//! [`ProductInfo`] of an item result, by the rules of DESIGN.md §6.

use common::messages::{ItemJob, ProductInfo};
use common::parts::{split_title, Detail, PartName, Vendors};

use super::product::ProductPage;
use super::spec::SpecTable;

/// The detail holding a CPU's code name (first "(...)" of its title).
pub const CODE_NAME_FIELD: &str = "코드 네임";
/// Its section.
pub const CODE_NAME_SECTION: &str = "CPU";
/// The detail holding a graphics card's or cooler's subtype (the spec summary's first item).
pub const SUBTYPE_FIELD: &str = "분류";
/// Its section.
pub const SUBTYPE_SECTION: &str = "요약";

/// Why an item's answers cannot make a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    /// The product page's breadcrumb names another category than the job's: the part is not
    /// in the category the config says (or Danawa served another product's page).
    #[error("product page is in category {found}, the job expects {expected}")]
    CategoryMismatch { expected: String, found: String },
}

/// [`assemble`] for an item job.
///
/// # Errors
/// [`AssembleError::CategoryMismatch`] when the page's breadcrumb differs from the job's
/// category number.
pub fn assemble_for(
    job: &ItemJob,
    page: &ProductPage,
    spec: &SpecTable,
    vendors: Vendors,
) -> Result<ProductInfo, AssembleError> {
    assemble(&job.category, &job.category_number, page, spec, vendors)
}

/// Builds the item result of a part of the config category `category` (Danawa number
/// `category_number`).
///
/// # Errors
/// [`AssembleError::CategoryMismatch`] when the page's breadcrumb differs from `category_number`.
pub fn assemble(
    category: &str,
    category_number: &str,
    page: &ProductPage,
    spec: &SpecTable,
    vendors: Vendors,
) -> Result<ProductInfo, AssembleError> {
    if page.category_number != category_number {
        return Err(AssembleError::CategoryMismatch {
            expected: category_number.to_owned(),
            found: page.category_number.clone(),
        });
    }
    let title = split_title(&page.title, category == "cpu");
    let mut details = spec.details.clone();
    if let Some(code_name) = title.code_name {
        details.insert(CODE_NAME_FIELD.to_owned(), Detail { value: code_name, section: CODE_NAME_SECTION.to_owned() });
    }
    if has_subtype(category) {
        if let Some(first) = &page.spec_summary_first {
            details
                .insert(SUBTYPE_FIELD.to_owned(), Detail { value: first.clone(), section: SUBTYPE_SECTION.to_owned() });
        }
    }
    let lowest_price = lowest_vendor_price(&vendors).or(page.min_price).or(page.json_ld_low_price);
    Ok(ProductInfo {
        name: PartName { full_name: title.full_name, tag: title.tag },
        stock: !page.sold_out,
        details,
        vendors,
        lowest_price,
    })
}

/// Graphics cards and coolers (`cooler`, `cpuCooler`, `systemCooler`, ...) get '분류'.
fn has_subtype(category: &str) -> bool {
    category == "graphics" || category.to_lowercase().contains("cooler")
}

fn lowest_vendor_price(vendors: &Vendors) -> Option<i64> {
    [&vendors.open_market, &vendors.mall, &vendors.credit, &vendors.cash]
        .into_iter()
        .flatten()
        .map(|vendor| vendor.price)
        .filter(|price| *price > 0)
        .min()
}

#[cfg(test)]
mod tests {
    use common::parts::Vendor;

    use super::*;
    use crate::parse::product::DescriptionParams;

    fn page(title: &str) -> ProductPage {
        ProductPage {
            pcode: Some("1".into()),
            title: title.into(),
            category_number: "112747".into(),
            registered: None,
            maker: None,
            min_price: Some(500_000),
            json_ld_low_price: Some(499_000),
            sold_out: false,
            spec_summary_first: Some("공랭".into()),
            description: DescriptionParams::default(),
            low_price_shops: Vec::new(),
        }
    }

    fn vendor(price: i64) -> Vendor {
        Vendor {
            vendor_name: "쿠팡".into(),
            vendor_code: None,
            vendor_url: "u".into(),
            price,
            shipping_cost: Some(0),
            card: None,
        }
    }

    #[test]
    fn cpu_titles_give_the_code_name() {
        let page = page("인텔 코어i5-12세대 12400F (엘더레이크) (정품)");
        let info = assemble("cpu", "112747", &page, &SpecTable::default(), Vendors::default()).expect("assembles");
        assert_eq!(info.name, PartName { full_name: "인텔 코어i5-12세대 12400F".into(), tag: Some("정품".into()) });
        assert_eq!(
            info.details.get(CODE_NAME_FIELD),
            Some(&Detail { value: "엘더레이크".into(), section: "CPU".into() })
        );
        assert!(!info.details.contains_key(SUBTYPE_FIELD));
        let other = assemble("memory", "112747", &page, &SpecTable::default(), Vendors::default()).expect("assembles");
        assert_eq!(other.name.full_name, "인텔 코어i5-12세대 12400F (엘더레이크)");
        assert!(!other.details.contains_key(CODE_NAME_FIELD));
    }

    #[test]
    fn graphics_and_coolers_get_the_subtype() {
        for category in ["graphics", "cooler", "cpuCooler", "systemCooler"] {
            let info =
                assemble(category, "112747", &page("X"), &SpecTable::default(), Vendors::default()).expect("assembles");
            assert_eq!(info.details.get(SUBTYPE_FIELD), Some(&Detail { value: "공랭".into(), section: "요약".into() }));
        }
    }

    #[test]
    fn lowest_price_prefers_shops_then_min_price_then_json_ld() {
        let vendors = Vendors { mall: vec![vendor(480_000)], cash: vec![vendor(470_000)], ..Vendors::default() };
        let spec = SpecTable::default();
        let with_shops = assemble("ssd", "112747", &page("X"), &spec, vendors).expect("assembles");
        assert_eq!(with_shops.lowest_price, Some(470_000));
        let without = assemble("ssd", "112747", &page("X"), &spec, Vendors::default()).expect("assembles");
        assert_eq!(without.lowest_price, Some(500_000));
        let mut bare = page("X");
        bare.min_price = None;
        assert_eq!(
            assemble("ssd", "112747", &bare, &spec, Vendors::default()).expect("ok").lowest_price,
            Some(499_000)
        );
        bare.json_ld_low_price = None;
        assert_eq!(assemble("ssd", "112747", &bare, &spec, Vendors::default()).expect("ok").lowest_price, None);
    }

    #[test]
    fn sold_out_means_no_stock_and_category_must_match() {
        let mut sold_out = page("X");
        sold_out.sold_out = true;
        assert!(!assemble("ssd", "112747", &sold_out, &SpecTable::default(), Vendors::default()).expect("ok").stock);
        assert_eq!(
            assemble("ssd", "112760", &sold_out, &SpecTable::default(), Vendors::default()),
            Err(AssembleError::CategoryMismatch { expected: "112760".into(), found: "112747".into() })
        );
    }
}
