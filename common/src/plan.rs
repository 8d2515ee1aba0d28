//! The list jobs a run starts with, derived from the scrape config: per category and per
//! listing (filter), the first page with fan-out when the config says `end: "*"`, or every
//! page of `start..=end` when it names a last page.

use chrono::{DateTime, Utc};

use crate::config::{PageEnd, ScrapeConfig};
use crate::messages::{ItemPolicy, ListPageJob};

/// The run's initial list jobs. `stale_before`: parts whose last price point is older get
/// item jobs (the run's start, to refresh everything).
pub fn initial_list_jobs(
    config: &ScrapeConfig,
    run_id: &str,
    started_at: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Vec<ListPageJob> {
    let mut jobs = Vec::new();
    for category in &config.categories {
        let items =
            category.crawl_items.then(|| ItemPolicy { item_base_url: config.item_base_url.clone(), stale_before });
        for filter in category.listings() {
            let first = ListPageJob {
                run_id: run_id.to_owned(),
                category: category.name.clone(),
                category_number: category.number.clone(),
                page: category.start_page,
                end_page: category.end_page,
                fan_out: category.end_page == PageEnd::Last,
                filter: filter.cloned(),
                minimum_date: category.minimum_date,
                ignore_words: category.ignore_words.clone(),
                page_base_url: config.page_base_url.clone(),
                run_started_at: started_at,
                items: items.clone(),
                attempt: 0,
            };
            match category.end_page {
                PageEnd::Last => jobs.push(first),
                PageEnd::Page(end) => jobs.extend((category.start_page..=end).map(|page| first.for_page(page))),
            }
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_first_page_per_listing_or_every_page_of_a_fixed_range() {
        let text = r#"{"pageBaseUrl": "http://x/list/?cate=", "itemBaseUrl": "http://x/info/?pcode=",
            "itemsCategories": ["cpu"],
            "categories": [
              {"category": "cpu", "categoryNumber": "1", "start": "1", "end": "*",
               "filters": [{"name": "a", "type": "maker", "value": "1"}, {"name": "b", "type": "maker", "value": "2"}]},
              {"category": "ssd", "categoryNumber": "2", "start": "2", "end": "4"}]}"#;
        let config = ScrapeConfig::parse(text).expect("valid");
        let now = Utc::now();
        let jobs = initial_list_jobs(&config, "r", now, now);
        let summary: Vec<(String, u32, bool)> = jobs.iter().map(|j| (j.page_member(), j.page, j.fan_out)).collect();
        assert_eq!(
            summary,
            [
                ("cpu|1|1".to_owned(), 1, true),
                ("cpu|2|1".to_owned(), 1, true),
                ("ssd||2".to_owned(), 2, false),
                ("ssd||3".to_owned(), 3, false),
                ("ssd||4".to_owned(), 4, false),
            ]
        );
        assert!(jobs[0].items.is_some() && jobs[2].items.is_none());
    }
}
