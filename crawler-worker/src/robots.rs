//! robots.txt: read once per site, checked against the endpoints the crawler uses, and the
//! operator's choice (obey, warn, ignore) logged once. Danawa's robots.txt disallows the AJAX
//! endpoints the list and spec data come from; with `obey` those jobs are rejected.

use std::collections::HashMap;

use tokio::sync::Mutex;

use crate::danawa::{self, Site};
use crate::error::CrawlError;
use crate::http::Session;
use crate::settings::RobotsPolicy;

/// The product token matched against `User-agent` lines: no site names it, so the `*` group
/// applies, the one every browser-like client falls under.
const AGENT: &str = "electrokerot";

/// A site's robots.txt as RFC 9309 reads it (through `texting_robots`): the group for our
/// agent or `*`, `Allow` and `Disallow`, `*` and `$` patterns, the longest match winning and
/// `Allow` winning a tie.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    /// `None`: no robots.txt, or one that cannot be parsed; everything is allowed, as
    /// crawlers do.
    robot: Option<texting_robots::Robot>,
}

impl Rules {
    pub(crate) fn parse(text: &str) -> Self {
        match texting_robots::Robot::new(AGENT, text.as_bytes()) {
            Ok(robot) => Self { robot: Some(robot) },
            Err(error) => {
                tracing::warn!(%error, "robots.txt cannot be parsed: treated as allowing everything");
                Self::default()
            }
        }
    }

    /// Whether a path (with its query, if any) may be fetched.
    pub(crate) fn allows(&self, path: &str) -> bool {
        self.robot.as_ref().is_none_or(|robot| robot.allowed(path))
    }
}

pub(crate) struct Robots {
    policy: RobotsPolicy,
    sites: Mutex<HashMap<String, Rules>>,
}

impl Robots {
    pub(crate) fn new(policy: RobotsPolicy) -> Self {
        Self { policy, sites: Mutex::new(HashMap::new()) }
    }

    /// Checks that the policy lets the crawler use every one of `paths` on `site`; reads
    /// robots.txt the first time a site is seen (an unreadable robots.txt allows everything,
    /// as crawlers do).
    ///
    /// # Errors
    /// [`CrawlError::Rejected`] when the policy is `obey` and robots.txt disallows a path.
    pub(crate) async fn check(&self, site: &Site, paths: &[&str], session: &mut Session) -> Result<(), CrawlError> {
        if self.policy == RobotsPolicy::Ignore && !self.sites.lock().await.is_empty() {
            return Ok(());
        }
        let mut sites = self.sites.lock().await;
        if !sites.contains_key(site.origin()) {
            let rules = match session.send(&site.robots_request()).await {
                Ok(text) => Rules::parse(&text),
                Err(_) => Rules::default(),
            };
            self.log_decision(site, &rules);
            sites.insert(site.origin().to_owned(), rules);
        }
        if self.policy != RobotsPolicy::Obey {
            return Ok(());
        }
        let rules = sites.get(site.origin());
        match paths.iter().find(|path| rules.is_some_and(|r| !r.allows(path))) {
            Some(path) => {
                Err(CrawlError::Rejected(format!("robots.txt of {} disallows {path} (--robots obey)", site.origin())))
            }
            None => Ok(()),
        }
    }

    fn log_decision(&self, site: &Site, rules: &Rules) {
        let disallowed: Vec<&str> = danawa::CRAWLER_PATHS.iter().copied().filter(|p| !rules.allows(p)).collect();
        let policy = match self.policy {
            RobotsPolicy::Obey => "obey",
            RobotsPolicy::Warn => "warn",
            RobotsPolicy::Ignore => "ignore",
        };
        if disallowed.is_empty() {
            tracing::info!(site = site.origin(), policy, "robots.txt allows every endpoint the crawler uses");
        } else {
            tracing::warn!(
                site = site.origin(),
                policy,
                disallowed = disallowed.join(", "),
                "robots.txt disallows endpoints the crawler uses; the operator chose how to treat it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_group_for_us_or_star_applies() {
        let rules =
            Rules::parse("User-agent: Googlebot\nDisallow: /private\n\nUser-agent: *\nDisallow: /list/ajax/ # data\n");
        assert!(!rules.allows("/list/ajax/getProductList.ajax.php"));
        assert!(rules.allows("/private"), "only the * group applies");
        assert!(Rules::parse("").allows("/anything"));
    }

    #[test]
    fn consecutive_user_agent_lines_share_one_group() {
        let rules = Rules::parse("User-agent: Googlebot\nUser-agent: *\nDisallow: /api/\n");
        assert!(!rules.allows("/api/x"));
    }

    #[test]
    fn allow_wins_where_its_match_is_longer() {
        // The hand-written parser ignored Allow: this path was refused.
        let rules = Rules::parse("User-agent: *\nDisallow: /info/\nAllow: /info/ajax/\n");
        assert!(rules.allows("/info/ajax/getProductDescription.ajax.php"));
        assert!(!rules.allows("/info/?pcode=1"));
    }

    #[test]
    fn allow_wins_a_tie() {
        let rules = Rules::parse("User-agent: *\nDisallow: /list/\nAllow: /list/\n");
        assert!(rules.allows("/list/?cate=112747"));
    }

    #[test]
    fn wildcards_and_end_anchors_match_as_rfc_9309_says() {
        let rules = Rules::parse("User-agent: *\nDisallow: /*.php$\nDisallow: /info/*pcode=\n");
        assert!(!rules.allows("/list/ajax/getProductList.ajax.php"), "* spans path segments, $ anchors the end");
        assert!(rules.allows("/list/ajax/getProductList.ajax.php?page=2"), "$: a query after .php is not the end");
        assert!(!rules.allows("/info/?pcode=1152054"), "* in the middle");
        assert!(rules.allows("/info/?keyword=ssd"));
    }

    #[test]
    fn danawa_robots_txt_disallows_the_data_endpoints() {
        // prod.danawa.com's robots.txt as DANAWA.md describes it: the AJAX endpoints the list
        // and spec data come from are disallowed, the product and category pages are not.
        let rules = Rules::parse("User-agent: *\nDisallow: /info/ajax/\nDisallow: /list/ajax/\nDisallow: /api/\n");
        for path in ["/list/ajax/getProductList.ajax.php", "/info/ajax/getProductDescription.ajax.php", "/api/x"] {
            assert!(!rules.allows(path), "{path}");
        }
        for path in ["/list/?cate=112747", "/info/?pcode=1152054"] {
            assert!(rules.allows(path), "{path}");
        }
    }
}
