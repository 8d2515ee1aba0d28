//! The one place that decides what runs next (like meilisearch's `autobatch`): a pure
//! function from what happened — a run started, a list page was read, a list page was
//! written — and the config's rules to the follow-up jobs. The producer, the crawler and the
//! updater call it; none of them builds a job by itself. The config's listing rules (minimum
//! registration date, ignore words) are applied here too, not in the parser.

use chrono::{DateTime, Utc};

use crate::config::{Category, PageEnd, RegistrationDate, ScrapeConfig, LIST_COUNT};
use crate::messages::{ItemJob, ItemPolicy, Job, ListPageJob, ListedProduct, ListedVariant};

/// What happened.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A run starts. `stale_before`: parts whose last price point is older get item jobs.
    RunStarted { config: &'a ScrapeConfig, run_id: &'a str, started_at: DateTime<Utc>, stale_before: DateTime<Utc> },
    /// A list page was read; `total_count` is the listing's `#totalProductCount`.
    ListRead { job: &'a ListPageJob, total_count: u32 },
    /// A list page was written and these of its pcodes are stale and claimed by it (or still
    /// claimed by it when it is dead-lettered).
    ListWritten { job: &'a ListPageJob, stale: &'a [&'a str] },
}

/// The jobs that follow from `event`, in order.
pub fn next_jobs(event: Event<'_>) -> Vec<Job> {
    match event {
        Event::RunStarted { config, run_id, started_at, stale_before } => {
            initial_list_jobs(config, run_id, started_at, stale_before).into_iter().map(Job::List).collect()
        }
        Event::ListRead { job, total_count } => follow_up_pages(job, total_count).into_iter().map(Job::List).collect(),
        Event::ListWritten { job, stale } => match &job.items {
            Some(policy) => stale.iter().map(|pcode| Job::Item(item_job(job, policy, pcode))).collect(),
            None => Vec::new(),
        },
    }
}

/// Per category and listing (filter): the first page with fan-out when the config says
/// `end: "*"`, or every page of `start..=end` when it names a last page.
fn initial_list_jobs(
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
            };
            match category.end_page {
                PageEnd::Last => jobs.push(first),
                PageEnd::Page(end) => jobs.extend((category.start_page..=end).map(|page| first.for_page(page))),
            }
        }
    }
    jobs
}

/// The first page of a fanned-out listing learns its last page: the jobs of the pages after
/// it, up to the config's end. Other pages add nothing.
fn follow_up_pages(job: &ListPageJob, total_count: u32) -> Vec<ListPageJob> {
    if !job.fan_out {
        return Vec::new();
    }
    let last_page = total_count.div_ceil(LIST_COUNT).max(1);
    let last = match job.end_page {
        PageEnd::Last => last_page,
        PageEnd::Page(end) => end.min(last_page),
    };
    (job.page + 1..=last).map(|n| job.for_page(n)).collect()
}

fn item_job(job: &ListPageJob, policy: &ItemPolicy, pcode: &str) -> ItemJob {
    ItemJob {
        run_id: job.run_id.clone(),
        pcode: pcode.to_owned(),
        category: job.category.clone(),
        category_number: job.category_number.clone(),
        item_base_url: policy.item_base_url.clone(),
    }
}

/// The config's rules for one listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingRules {
    /// Products registered before this are skipped (unknown dates are kept: dropping them
    /// would lose data on a markup change).
    pub minimum_date: RegistrationDate,
    /// A product whose name, or a variant whose tag, contains one of these is skipped.
    pub ignore_words: Vec<String>,
}

/// Why the rules left a listed product out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleSkip {
    TooOld,
    IgnoredName,
    /// Every variant's tag held an ignore word.
    IgnoredVariants,
}

impl ListingRules {
    pub fn of_job(job: &ListPageJob) -> Self {
        Self { minimum_date: job.minimum_date, ignore_words: job.ignore_words.clone() }
    }

    pub fn of_category(category: &Category) -> Self {
        Self { minimum_date: category.minimum_date, ignore_words: category.ignore_words.clone() }
    }

    /// The product as the run keeps it (variants with an ignored tag dropped), or why it is
    /// left out. Positions stay those of the page: a skipped product still took its place.
    ///
    /// # Errors
    /// The [`RuleSkip`] that leaves the product out.
    pub fn apply(&self, mut product: ListedProduct) -> Result<ListedProduct, (ListedProduct, RuleSkip)> {
        if product.registered.is_some_and(|date| date < self.minimum_date) {
            return Err((product, RuleSkip::TooOld));
        }
        if self.is_ignored(&product.name) {
            return Err((product, RuleSkip::IgnoredName));
        }
        let all = std::mem::take(&mut product.variants);
        let (kept, ignored): (Vec<ListedVariant>, Vec<ListedVariant>) =
            all.into_iter().partition(|v| !v.tag.as_deref().is_some_and(|tag| self.is_ignored(tag)));
        if kept.is_empty() {
            product.variants = ignored;
            return Err((product, RuleSkip::IgnoredVariants));
        }
        product.variants = kept;
        Ok(product)
    }

    fn is_ignored(&self, text: &str) -> bool {
        self.ignore_words.iter().any(|word| !word.is_empty() && text.contains(word.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"pageBaseUrl": "http://x/list/?cate=", "itemBaseUrl": "http://x/info/?pcode=",
        "itemsCategories": ["cpu"],
        "categories": [
          {"category": "cpu", "categoryNumber": "1", "start": "1", "end": "*",
           "filters": [{"name": "a", "type": "maker", "value": "1"}, {"name": "b", "type": "maker", "value": "2"}]},
          {"category": "ssd", "categoryNumber": "2", "start": "2", "end": "4"}]}"#;

    fn start() -> Vec<ListPageJob> {
        let config = ScrapeConfig::parse(CONFIG).expect("valid");
        let now = Utc::now();
        next_jobs(Event::RunStarted { config: &config, run_id: "r", started_at: now, stale_before: now })
            .into_iter()
            .map(|job| match job {
                Job::List(list) => list,
                Job::Item(item) => panic!("a run starts with list jobs: {item:?}"),
            })
            .collect()
    }

    #[test]
    fn a_run_starts_with_one_first_page_per_listing_or_every_page_of_a_fixed_range() {
        let jobs = start();
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

    #[test]
    fn a_first_page_fans_out_to_the_last_page_and_no_further() {
        let jobs = start();
        let pages = |job: &ListPageJob, total| -> Vec<u32> {
            next_jobs(Event::ListRead { job, total_count: total })
                .into_iter()
                .map(|j| match j {
                    Job::List(list) => {
                        assert!(!list.fan_out, "follow-ups do not fan out again");
                        list.page
                    }
                    Job::Item(_) => panic!("a list page read adds list pages"),
                })
                .collect()
        };
        assert_eq!(pages(&jobs[0], 181), [2, 3], "181 products at 90 a page: 3 pages");
        assert_eq!(pages(&jobs[0], 0), Vec::<u32>::new(), "an empty listing has one page");
        let capped = ListPageJob { end_page: PageEnd::Page(2), ..jobs[0].clone() };
        assert_eq!(pages(&capped, 900), [2], "the config's end wins");
        assert_eq!(pages(&jobs[2], 900), Vec::<u32>::new(), "fixed ranges were enqueued at the start");
    }

    #[test]
    fn a_written_list_page_adds_item_jobs_for_its_stale_pcodes_of_item_categories() {
        let jobs = start();
        let items = next_jobs(Event::ListWritten { job: &jobs[0], stale: &["11", "12"] });
        let pcodes: Vec<&str> = items
            .iter()
            .map(|j| match j {
                Job::Item(item) => {
                    assert_eq!((item.run_id.as_str(), item.category.as_str()), ("r", "cpu"));
                    assert_eq!(item.item_base_url, "http://x/info/?pcode=");
                    item.pcode.as_str()
                }
                Job::List(_) => panic!("item jobs expected"),
            })
            .collect();
        assert_eq!(pcodes, ["11", "12"]);
        assert!(next_jobs(Event::ListWritten { job: &jobs[2], stale: &["13"] }).is_empty(), "ssd has no items");
    }

    fn product(name: &str, date: Option<(u16, u8)>, tags: &[&str]) -> ListedProduct {
        ListedProduct {
            name: name.into(),
            registered: date.map(|(year, month)| RegistrationDate { year, month }),
            page: 1,
            position: 3,
            variants: tags
                .iter()
                .enumerate()
                .map(|(i, tag)| ListedVariant { pcode: i.to_string(), tag: Some((*tag).into()), price: None })
                .collect(),
        }
    }

    #[test]
    fn the_rules_drop_old_products_ignored_names_and_ignored_variants() {
        let rules = ListingRules {
            minimum_date: RegistrationDate { year: 2018, month: 1 },
            ignore_words: vec!["채굴".into(), "해외구매".into(), String::new()],
        };
        let skip = |p| rules.apply(p).err().map(|(_, reason)| reason);
        assert_eq!(skip(product("a", Some((2017, 12)), &["x"])), Some(RuleSkip::TooOld));
        assert_eq!(skip(product("채굴용", Some((2022, 1)), &["x"])), Some(RuleSkip::IgnoredName));
        assert_eq!(skip(product("b", Some((2022, 1)), &["해외구매"])), Some(RuleSkip::IgnoredVariants));
        let kept = rules.apply(product("c", None, &["정품", "해외구매"])).expect("kept: unknown date, one good tag");
        assert_eq!(kept.variants.iter().map(|v| v.tag.as_deref().unwrap_or("")).collect::<Vec<_>>(), ["정품"]);
        assert_eq!(kept.position, 3, "positions stay those of the page");
    }
}
