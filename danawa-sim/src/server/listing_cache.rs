//! A bounded cache of filtered listings: a crawl asks for the same (category, filter) listing
//! once per page, and filtering 11,000 products costs more than rendering a page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::catalogue::Category;

/// Listings kept before the cache starts over (each at most a few tens of KB).
const CAPACITY: usize = 512;

/// (category, makers, attribute ids, excluded words), each list sorted.
type Key = (u32, Vec<u32>, Vec<u32>, Vec<String>);

#[derive(Default)]
pub(crate) struct ListingCache {
    map: Mutex<HashMap<Key, Arc<Vec<u32>>>>,
}

impl ListingCache {
    /// The listing of `category` under these filters, in BEST order.
    pub(super) fn get(
        &self,
        category: &Category,
        mut makers: Vec<u32>,
        mut attrs: Vec<u32>,
        mut excluded: Vec<String>,
    ) -> Arc<Vec<u32>> {
        makers.sort_unstable();
        attrs.sort_unstable();
        excluded.sort_unstable();
        let key = (category.def.number, makers, attrs, excluded);
        if let Some(hit) = self.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return hit.clone();
        }
        let listing = Arc::new(category.listing_excluding(&key.1, &key.2, &key.3));
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, listing.clone());
        listing
    }
}
