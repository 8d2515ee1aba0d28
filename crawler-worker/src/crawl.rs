//! What one job does on the site: a list job reads the category page (values cached per
//! category, shared by the fleet) and posts the list request with the filter's full value; an
//! item job fetches the product page, then its spec table and shop list with the values from
//! the page. Each request has its own retries ([`Requester::fetch`]); what a job already
//! fetched is not fetched again. Answers go through the parsers and come back typed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::keys::Keys;
use common::messages::{ItemJob, ItemOutcome, ListPageJob};
use common::redis_pool::Pool;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::danawa::{self, Site};
use crate::error::{BlockCause, CrawlError};
use crate::fetch::{JobError, Requester};
use crate::http::Session;
use crate::metrics::ContainerLabels;
use crate::parse::assemble::{assemble_for, AssembleError};
use crate::parse::bootstrap::{parse_bootstrap, ListBootstrap};
use crate::parse::list::{parse_list, ListPage};
use crate::parse::product::{parse_product, ProductAnswer};
use crate::parse::shops::parse_shops;
use crate::parse::spec::parse_spec;
use crate::robots::Robots;
use crate::slots::Arrival;
use common::plan::ListingRules;

/// How long a category's bootstrap values are reused before the page is read again.
const BOOTSTRAP_TTL: Duration = Duration::from_secs(600);

/// How long the crawler reading a category page for the fleet holds the others back: a
/// reader that dies delays them this long at most, and one slower than this (retries after
/// blocks) just lets a second crawler read the page too.
const BOOTSTRAP_LEASE_MS: u64 = 20_000;

/// Longest single wait for the reader (an `XREAD BLOCK`, below the Redis response timeout).
const BOOTSTRAP_WAIT_MS: u64 = 5_000;

static TAKE_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/bootstrap_take.lua")));
static DONE_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/bootstrap_done.lua")));

/// A category of a site: (origin, category number).
type CategoryKey = (String, String);

/// What the fleet has for a category page.
enum Shared {
    Values(Box<ListBootstrap>),
    /// Read the page: with the fleet's lease (its token), or without one (Redis failed).
    Read(Option<String>),
}

pub(crate) struct Crawler {
    pool: Pool,
    keys: Keys,
    robots: Robots,
    pub requester: Requester,
    bootstraps: Mutex<HashMap<CategoryKey, (ListBootstrap, Instant)>>,
    /// One job per category resolves its values at a time in this process.
    bootstrap_turns: Mutex<HashMap<CategoryKey, Arc<Mutex<()>>>>,
    /// How long a run's list fingerprints are kept after the last write (`--keep-for`).
    keep_for: Duration,
}

impl Crawler {
    pub(crate) fn new(pool: Pool, keys: Keys, robots: Robots, requester: Requester, keep_for: Duration) -> Self {
        Self {
            pool,
            keys,
            robots,
            requester,
            bootstraps: Mutex::new(HashMap::new()),
            bootstrap_turns: Mutex::new(HashMap::new()),
            keep_for,
        }
    }

    /// A session for one job (one proxy and User-Agent, rotated after a block), with the
    /// job's share of the demand on request slots.
    pub(crate) fn session(&self, arrival: Arrival) -> Session {
        self.requester.fetcher.session(Some(arrival))
    }

    /// A job was taken from the queue: see [`crate::slots`].
    pub(crate) fn job_taken(&self) -> Arrival {
        self.requester.fetcher.slots().expect_request()
    }

    /// Resolves when this process should read another job: see [`crate::slots`].
    pub(crate) async fn wants_more(&self) {
        self.requester.fetcher.slots().settled().await;
    }

    /// Fetches and parses one list page.
    ///
    /// # Errors
    /// A [`JobError`]: the request that used up its attempts, or why the job cannot succeed (a
    /// filter the category page does not offer is never crawled unfiltered).
    #[tracing::instrument(name = "list_page", skip_all, fields(category = %job.category, page = job.page))]
    pub(crate) async fn list_page(&self, job: &ListPageJob, session: &mut Session) -> Result<ListPage, JobError> {
        let site = site_of(&job.page_base_url)?;
        self.robots.check(&site, &[danawa::LIST_PAGE_PATH, danawa::LIST_AJAX_PATH], session).await?;
        let bootstrap = self.bootstrap(&site, &job.category_number, session).await?;
        let filter = match &job.filter {
            Some(filter) => Some(
                bootstrap.search_filter(filter, &job.category_number).map_err(|e| JobError::Rejected(e.to_string()))?,
            ),
            None => None,
        };
        let request = site.list_request(&job.category_number, &bootstrap, job.page, filter.as_ref());
        let target = format!("page {} of {}", job.page, job.listing());
        let rules = &ListingRules::of_job(job);
        let page = self
            .requester
            .fetch(session, &request, &target, move |html| async move {
                let page = parse_list(&html, job.page).map_err(|e| CrawlError::unparseable(e, html))?;
                check_page_number(job.page, &page)?;
                self.check_not_repeated(job, &page).await?;
                Ok(page.keep(rules))
            })
            .await;
        if matches!(page, Err(JobError::Failed(_))) {
            // The cached values may be what the site no longer accepts: read them again next time.
            self.forget_bootstrap(&site, &job.category_number).await;
        }
        page
    }

    /// The category page's values: from this process's cache, else the fleet's (Redis), else
    /// the page itself — read by one job of one crawler for the whole fleet while the others
    /// wait for its values: at a run's start every listing's first page asks at once, and
    /// each used to read the page itself (53 reads of 9 pages at 35 crawlers).
    async fn bootstrap(&self, site: &Site, category: &str, session: &mut Session) -> Result<ListBootstrap, JobError> {
        let key = (site.origin().to_owned(), category.to_owned());
        // One job of this process resolves a category at a time; the others find its values.
        let turn = Arc::clone(self.bootstrap_turns.lock().await.entry(key.clone()).or_default());
        let _turn = turn.lock().await;
        if let Some((values, at)) = self.bootstraps.lock().await.get(&key) {
            if at.elapsed() < BOOTSTRAP_TTL {
                return Ok(values.clone());
            }
        }
        // A job waiting for another crawler's read still counts as demand (`crate::slots`):
        // it wants a slot the moment the values come, so this process takes no more jobs.
        let values = match self.shared_bootstrap(site, category).await {
            Shared::Values(values) => *values,
            Shared::Read(lease) => {
                let read = self.fetch_bootstrap(site, category, session).await;
                self.share_bootstrap(site, category, lease, read.as_ref().ok()).await;
                read?
            }
        };
        self.bootstraps.lock().await.insert(key, (values.clone(), Instant::now()));
        Ok(values)
    }

    /// Reads the category page: the legacy template or the Next.js one with its category
    /// context; a Next.js page without one is asked for again on a new connection.
    async fn fetch_bootstrap(
        &self,
        site: &Site,
        category: &str,
        session: &mut Session,
    ) -> Result<ListBootstrap, JobError> {
        let request = site.bootstrap_request(category);
        let target = format!("category {category}");
        self.requester
            .fetch(session, &request, &target, |html| {
                std::future::ready(match parse_bootstrap(&html) {
                    Ok(page) => page.into_values().ok_or_else(|| {
                        CrawlError::WrongTemplate(format!(
                            "category page {category} came as the Next.js template without its category context"
                        ))
                    }),
                    Err(error) => Err(CrawlError::unparseable(error, html)),
                })
            })
            .await
    }

    /// The fleet's values, waiting while another crawler reads the page, or the lease to read
    /// it. A Redis hiccup or a stale format just means reading the page without a lease.
    async fn shared_bootstrap(&self, site: &Site, category: &str) -> Shared {
        let keys = [
            self.keys.bootstrap(site.origin(), category),
            self.keys.bootstrap_lease(site.origin(), category),
            self.keys.bootstrap_ready(site.origin(), category),
        ];
        let token = format!("{:016x}", rand::random::<u64>());
        loop {
            let Ok(mut conn) = self.pool.get().await else { return Shared::Read(None) };
            let taken: redis::RedisResult<(u8, String, i64)> = TAKE_SCRIPT
                .key(&keys[0])
                .key(&keys[1])
                .key(&keys[2])
                .arg(&token)
                .arg(BOOTSTRAP_LEASE_MS)
                .invoke_async(&mut conn)
                .await;
            let (last_id, lease_left) = match taken {
                Ok((1, text, _)) => {
                    return serde_json::from_str(&text)
                        .map_or(Shared::Read(None), |values| Shared::Values(Box::new(values)));
                }
                Ok((2, _, _)) => return Shared::Read(Some(token)),
                Ok((_, last_id, lease_left)) => (last_id, lease_left),
                Err(_) => return Shared::Read(None),
            };
            // Wakes when the reader shares its values or gives up (then one waiter takes the
            // lease), or when its lease runs out (a reader that died). Below the Redis
            // client's response timeout, so a long lease is waited for in several reads.
            let block_ms = u64::try_from(lease_left.max(1)).unwrap_or(1).min(BOOTSTRAP_WAIT_MS);
            let woken: redis::RedisResult<redis::Value> = redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&keys[2])
                .arg(&last_id)
                .query_async(&mut conn)
                .await;
            if woken.is_err() {
                return Shared::Read(None);
            }
        }
    }

    /// Shares what the lease holder read (nothing when the read failed), lets the lease go and
    /// wakes the crawlers waiting for it. Without a lease (Redis failed earlier) it only shares.
    async fn share_bootstrap(
        &self,
        site: &Site,
        category: &str,
        lease: Option<String>,
        values: Option<&ListBootstrap>,
    ) {
        let text = values.and_then(|v| serde_json::to_string(v).ok()).unwrap_or_default();
        if lease.is_none() && text.is_empty() {
            return;
        }
        let Ok(mut conn) = self.pool.get().await else { return };
        let _: redis::RedisResult<i64> = DONE_SCRIPT
            .key(self.keys.bootstrap(site.origin(), category))
            .key(self.keys.bootstrap_lease(site.origin(), category))
            .key(self.keys.bootstrap_ready(site.origin(), category))
            .arg(lease.unwrap_or_default())
            .arg(text)
            .arg(BOOTSTRAP_TTL.as_secs())
            .arg(BOOTSTRAP_LEASE_MS)
            .invoke_async(&mut conn)
            .await;
    }

    /// Drops the cached values (this process's and the fleet's) after the site refused them.
    async fn forget_bootstrap(&self, site: &Site, category: &str) {
        self.bootstraps.lock().await.remove(&(site.origin().to_owned(), category.to_owned()));
        if let Ok(mut conn) = self.pool.get().await {
            let _: redis::RedisResult<()> = conn.del(self.keys.bootstrap(site.origin(), category)).await;
        }
    }

    /// A page whose products are exactly another page's of the same listing is the site
    /// serving the previous page again: a soft block.
    async fn check_not_repeated(&self, job: &ListPageJob, page: &ListPage) -> Result<(), CrawlError> {
        let pcodes: Vec<&str> =
            page.products.iter().flat_map(|p| p.variants.iter().map(|v| v.pcode.as_str())).collect();
        if page.products.is_empty() || pcodes.is_empty() {
            return Ok(());
        }
        let fingerprint = format!("{}|{}", job.listing(), hex::encode(Sha256::digest(pcodes.join(",").as_bytes())));
        let key = self.keys.run_list_prints(&job.run_id);
        let mut conn = self.pool.get().await.map_err(|e| CrawlError::Redis(common::redis_pool::pool_error(e)))?;
        let (_, owner, _): (bool, String, bool) = redis::pipe()
            .atomic()
            .hset_nx(&key, &fingerprint, job.page)
            .hget(&key, &fingerprint)
            .expire(&key, i64::try_from(self.keep_for.as_secs().max(1)).unwrap_or(i64::MAX))
            .query_async(&mut conn)
            .await
            .map_err(CrawlError::Redis)?;
        if owner != job.page.to_string() {
            return Err(CrawlError::Blocked {
                cause: BlockCause::Repeated,
                detail: format!("page {} came back with the products of page {owner}", job.page),
                retry_after: None,
            });
        }
        Ok(())
    }

    /// Fetches a product page, its spec table and its shop list.
    ///
    /// # Errors
    /// A [`JobError`]; a product outside the job's category is [`JobError::Rejected`].
    #[tracing::instrument(name = "item", skip_all, fields(pcode = %job.pcode))]
    pub(crate) async fn item(&self, job: &ItemJob, session: &mut Session) -> Result<ItemOutcome, JobError> {
        let site = site_of(&job.item_base_url)?;
        self.robots
            .check(&site, &[danawa::PRODUCT_PATH, danawa::SPEC_AJAX_PATH, danawa::SHOPS_AJAX_PATH], session)
            .await?;
        let target = format!("pcode {}", job.pcode);
        let request = site.product_request(&job.pcode);
        let answer = self.requester.fetch(session, &request, &target, parsed(parse_product)).await?;
        let page = match answer {
            ProductAnswer::Discontinued => return Ok(ItemOutcome::Discontinued),
            ProductAnswer::Product(page) => page,
        };
        // Both need only the product page's values: sent side by side when slots are free.
        let (spec_request, shops_request) =
            (site.spec_request(&job.pcode, &page.description), site.shops_request(&job.pcode, &page.description));
        // The first request to fail for good ends the other: the job is dead either way.
        let mut beside = session.fork();
        let both = tokio::try_join!(
            self.requester.fetch(session, &spec_request, &target, parsed(parse_spec)),
            self.requester.fetch(&mut beside, &shops_request, &target, parsed(parse_shops)),
        );
        session.absorb(beside);
        let (spec, shops) = both?;
        for group in &shops.unknown_groups {
            // Reported, never silently dropped: the rows are not stored (the contract has four
            // lists), so an operator must look at this container.
            let labels = ContainerLabels { container: group.container.clone() };
            self.requester.metrics.unknown_shop_groups.get_or_create(&labels).inc_by(group.rows as u64);
            tracing::warn!(
                pcode = %job.pcode,
                container = %group.container,
                rows = group.rows,
                "shop list has rows in a group container the parser does not know: not stored"
            );
        }
        match assemble_for(job, &page, &spec, shops.vendors) {
            Ok(info) => Ok(ItemOutcome::Product(info)),
            Err(error @ AssembleError::CategoryMismatch { .. }) => Err(JobError::Rejected(error.to_string())),
        }
    }
}

/// An answer's acceptance that is its parser alone: a parse error keeps the page.
fn parsed<T>(
    parse: fn(&str) -> Result<T, crate::parse::ParseError>,
) -> impl FnMut(String) -> std::future::Ready<Result<T, CrawlError>> {
    move |html| std::future::ready(parse(&html).map_err(|e| CrawlError::unparseable(e, html)))
}

/// The pager's current page (`a.num.now_on`) must be the page asked for: another number is
/// the site serving another page again (DANAWA.md "Blocks and politeness").
fn check_page_number(asked: u32, page: &ListPage) -> Result<(), CrawlError> {
    match page.current_page {
        Some(shown) if shown != asked => Err(CrawlError::Blocked {
            cause: BlockCause::Repeated,
            detail: format!("page {asked} came back as page {shown}"),
            retry_after: None,
        }),
        _ => Ok(()),
    }
}

fn site_of(base_url: &str) -> Result<Site, JobError> {
    Site::from_base_url(base_url).map_err(|e| JobError::Rejected(e.to_string()))
}
