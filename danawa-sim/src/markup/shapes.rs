//! Which markup shape an answer takes where the real site has served several (DANAWA.md "Newer
//! evidence": list items, spec table, shop list). Each decision is a pure function of the
//! catalogue seed and the pcode, so the same request gets the same bytes, and `share` (the
//! `--new-markup-share` flag) is the share of entries or answers in the shape first described
//! there. No shape changes the ground truth.

use crate::rng::{salt, unit};

/// Share of new-shape shop lists that also carry group containers the crawler does not know.
pub const EXTRA_GROUPS_SHARE: f64 = 0.3;

/// A shop-list group container outside the four known lists: its id and heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraGroup {
    pub id: &'static str,
    pub title: &'static str,
    /// Distinguishes the groups' generated rows.
    pub key: u64,
}

pub const OVERSEAS: ExtraGroup = ExtraGroup { id: "OverseasShoppingMallListDiv", title: "해외쇼핑", key: 1 };
pub const GENERAL_AFFILIATE: ExtraGroup =
    ExtraGroup { id: "GeneralAffiliateMallListDiv", title: "일반 제휴몰", key: 2 };

/// The shape decisions of one sim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shapes {
    seed: u64,
    share: f64,
}

impl Shapes {
    /// `share` is clamped to 0..=1.
    pub fn new(seed: u64, share: f64) -> Self {
        Self { seed, share: share.clamp(0.0, 1.0) }
    }

    fn pick(&self, salt: u64, pcode: u32) -> bool {
        unit(self.seed, salt, u64::from(pcode)) < self.share
    }

    /// The entry (by its first pcode) writes variant tags as the bare text node of
    /// `p.memory_sect` (2021–23) instead of `span.text`.
    pub fn bare_tag(&self, pcode: u32) -> bool {
        self.pick(salt::SHAPE_BARE_TAG, pcode)
    }

    /// A single-variant in-stock entry is one `div.prod_pricelist.prod_top5` of mall rows.
    pub fn single_top5(&self, pcode: u32) -> bool {
        self.pick(salt::SHAPE_SINGLE_TOP5, pcode)
    }

    /// The spec table's cells carry no `tit`/`dsc` classes.
    pub fn classless_spec(&self, pcode: u32) -> bool {
        self.pick(salt::SHAPE_CLASSLESS_SPEC, pcode)
    }

    /// The shop list is the 2025–26 `#defaultMallList` shape.
    pub fn default_mall_list(&self, pcode: u32) -> bool {
        self.pick(salt::SHAPE_MALL_LIST, pcode)
    }

    /// The unknown group containers of a new-shape shop list (often none).
    pub fn extra_groups(&self, pcode: u32) -> &'static [ExtraGroup] {
        let roll = unit(self.seed, salt::SHAPE_EXTRA_GROUPS, u64::from(pcode));
        if roll >= EXTRA_GROUPS_SHARE {
            return &[];
        }
        match (roll / EXTRA_GROUPS_SHARE * 3.0) as u32 {
            0 => &[OVERSEAS],
            1 => &[GENERAL_AFFILIATE],
            _ => &[OVERSEAS, GENERAL_AFFILIATE],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_zero_and_one_are_exact_and_a_half_is_about_half() {
        let none = Shapes::new(3, 0.0);
        let all = Shapes::new(3, 1.0);
        let half = Shapes::new(3, 0.5);
        let pcodes = 1_000_000..1_004_000u32;
        assert!(pcodes.clone().all(|p| !none.bare_tag(p) && !none.default_mall_list(p) && !none.classless_spec(p)));
        assert!(pcodes.clone().all(|p| all.bare_tag(p) && all.single_top5(p) && all.default_mall_list(p)));
        let n = pcodes.clone().filter(|&p| half.default_mall_list(p)).count();
        assert!((1_800..2_200).contains(&n), "{n}");
        let independent = pcodes.clone().filter(|&p| half.bare_tag(p) && half.single_top5(p)).count();
        assert!((800..1_200).contains(&independent), "decisions are independent: {independent}");
        let groups: Vec<usize> = pcodes.map(|p| half.extra_groups(p).len()).collect();
        let with = groups.iter().filter(|&&g| g > 0).count();
        assert!((1_000..1_400).contains(&with), "{with}");
        assert!(groups.contains(&2));
    }
}
