//! What one job does on the site: a list job bootstraps from the category page (values
//! cached per category) and posts the list request; an item job fetches the product page,
//! then its spec table and shop list with the values from the page. Requests of a job run
//! one after another; answers go through the parsers and come back typed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::keys::Keys;
use common::messages::{ItemJob, ItemOutcome, ListPageJob};
use deadpool_redis::Pool;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::danawa::{self, Site};
use crate::errors::{BlockCause, CrawlError};
use crate::http::Session;
use crate::parse::assemble::{assemble_for, AssembleError};
use crate::parse::bootstrap::{parse_bootstrap, BootstrapPage, ListBootstrap};
use crate::parse::list::{parse_list, ListPage, ListRules};
use crate::parse::product::{parse_product, ProductAnswer};
use crate::parse::shops::parse_shops;
use crate::parse::spec::parse_spec;
use crate::robots::Robots;

/// How long a category's bootstrap values are reused before the page is read again.
const BOOTSTRAP_TTL: Duration = Duration::from_secs(600);
/// Fresh connections tried when the category page comes back as the Next.js variant.
const NEXTJS_RETRIES: usize = 3;
/// Run-scoped keys outlive a run by this much, then Redis drops them.
const RUN_KEY_TTL_SECS: i64 = 7 * 24 * 3600;

pub struct Crawler {
    pool: Pool,
    keys: Keys,
    robots: Robots,
    bootstraps: Mutex<HashMap<(String, String), (ListBootstrap, Instant)>>,
}

impl Crawler {
    pub fn new(pool: Pool, keys: Keys, robots: Robots) -> Self {
        Self { pool, keys, robots, bootstraps: Mutex::new(HashMap::new()) }
    }

    /// Fetches and parses one list page.
    ///
    /// # Errors
    /// A [`CrawlError`] saying whether to retry, treat as a block, or give up.
    pub async fn list_page(&self, job: &ListPageJob, session: &mut Session) -> Result<ListPage, CrawlError> {
        let site = site_of(&job.page_base_url)?;
        self.robots.check(&site, &[danawa::LIST_PAGE_PATH, danawa::LIST_AJAX_PATH], session).await?;
        let bootstrap = self.bootstrap(&site, &job.category_number, session).await?;
        let request = site.list_request(&job.category_number, &bootstrap, job.page, job.filter.as_ref());
        let html = session.send(&request).await;
        let page = html.and_then(|html| {
            parse_list(&html, job.page, &ListRules::from_job(job)).map_err(|e| CrawlError::unparseable(e, html))
        });
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                // The cached values may be what the site no longer accepts: read them again next time.
                self.forget_bootstrap(&site, &job.category_number).await;
                return Err(error);
            }
        };
        self.check_not_repeated(job, &page).await?;
        Ok(page)
    }

    /// The category page's values: from this process's cache, else the fleet's (Redis), else
    /// the page itself — which is then shared with the fleet.
    async fn bootstrap(&self, site: &Site, category: &str, session: &mut Session) -> Result<ListBootstrap, CrawlError> {
        let key = (site.origin().to_owned(), category.to_owned());
        if let Some((values, at)) = self.bootstraps.lock().await.get(&key) {
            if at.elapsed() < BOOTSTRAP_TTL {
                return Ok(values.clone());
            }
        }
        let values = match self.shared_bootstrap(site, category).await {
            Some(values) => values,
            None => {
                let values = self.fetch_bootstrap(site, category, session).await?;
                self.share_bootstrap(site, category, &values).await;
                values
            }
        };
        self.bootstraps.lock().await.insert(key, (values.clone(), Instant::now()));
        Ok(values)
    }

    async fn fetch_bootstrap(
        &self,
        site: &Site,
        category: &str,
        session: &mut Session,
    ) -> Result<ListBootstrap, CrawlError> {
        let request = site.bootstrap_request(category);
        let mut html = session.send(&request).await?;
        for attempt in 0..=NEXTJS_RETRIES {
            match parse_bootstrap(&html) {
                Ok(BootstrapPage::Legacy(values)) => return Ok(*values),
                // The variant sticks to the connection: only a new connection can get the legacy page.
                Ok(BootstrapPage::NextJs { .. }) if attempt < NEXTJS_RETRIES => {
                    html = session.send_fresh(&request).await?
                }
                Ok(BootstrapPage::NextJs { .. }) => {
                    return Err(CrawlError::Transient {
                        cause: format!("category page {category} kept coming back as the Next.js variant"),
                        retry_after: None,
                    })
                }
                Err(error) => return Err(CrawlError::unparseable(error, html)),
            }
        }
        Err(CrawlError::Transient { cause: "bootstrap retries exhausted".into(), retry_after: None })
    }

    /// The fleet's cached values; a Redis hiccup or a stale format just means reading the page.
    async fn shared_bootstrap(&self, site: &Site, category: &str) -> Option<ListBootstrap> {
        let mut conn = self.pool.get().await.ok()?;
        let text: Option<String> = conn.get(self.keys.bootstrap(site.origin(), category)).await.ok()?;
        serde_json::from_str(&text?).ok()
    }

    async fn share_bootstrap(&self, site: &Site, category: &str, values: &ListBootstrap) {
        let (Ok(mut conn), Ok(text)) = (self.pool.get().await, serde_json::to_string(values)) else { return };
        let key = self.keys.bootstrap(site.origin(), category);
        let _: redis::RedisResult<()> = conn.set_ex(key, text, BOOTSTRAP_TTL.as_secs()).await;
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
        let mut conn = self.pool.get().await.map_err(|e| CrawlError::Redis(e.to_string()))?;
        let (_, owner, _): (bool, String, bool) = redis::pipe()
            .atomic()
            .hset_nx(&key, &fingerprint, job.page)
            .hget(&key, &fingerprint)
            .expire(&key, RUN_KEY_TTL_SECS)
            .query_async(&mut conn)
            .await
            .map_err(|e| CrawlError::Redis(e.to_string()))?;
        if owner != job.page.to_string() {
            return Err(CrawlError::Blocked {
                cause: BlockCause::Repeated,
                detail: format!("page {} came back with the products of page {owner}", job.page),
                retry_after: None,
                parse: None,
            });
        }
        Ok(())
    }

    /// Fetches a product page, its spec table and its shop list.
    ///
    /// # Errors
    /// A [`CrawlError`]; a product outside the job's category is [`CrawlError::Rejected`].
    pub async fn item(&self, job: &ItemJob, session: &mut Session) -> Result<ItemOutcome, CrawlError> {
        let site = site_of(&job.item_base_url)?;
        self.robots
            .check(&site, &[danawa::PRODUCT_PATH, danawa::SPEC_AJAX_PATH, danawa::SHOPS_AJAX_PATH], session)
            .await?;
        let html = session.send(&site.product_request(&job.pcode)).await?;
        let page = match parse_product(&html) {
            Ok(ProductAnswer::Discontinued) => return Ok(ItemOutcome::Discontinued),
            Ok(ProductAnswer::Product(page)) => page,
            Err(error) => return Err(CrawlError::unparseable(error, html)),
        };
        let html = session.send(&site.spec_request(&job.pcode, &page.description)).await?;
        let spec = parse_spec(&html).map_err(|e| CrawlError::unparseable(e, html))?;
        let html = session.send(&site.shops_request(&job.pcode, &page.description)).await?;
        let vendors = parse_shops(&html).map_err(|e| CrawlError::unparseable(e, html))?;
        match assemble_for(job, &page, &spec, vendors) {
            Ok(info) => Ok(ItemOutcome::Product(info)),
            Err(error @ AssembleError::CategoryMismatch { .. }) => Err(CrawlError::Rejected(error.to_string())),
        }
    }
}

fn site_of(base_url: &str) -> Result<Site, CrawlError> {
    Site::from_base_url(base_url).map_err(|e| CrawlError::Rejected(e.to_string()))
}
