//! The compiled matcher behind [`crate::RouteTable::match_record`]: an index that narrows a
//! record's routes down to a few candidates, each then confirmed by the exact evaluator.
//!
//! # How it works
//!
//! - Every filter is reduced to *anchors* ([`anchor`]): necessary conditions of the form "some
//!   scalar at this field path equals this value / starts with this prefix / lies in this
//!   numeric range". A pattern gives one set of anchors per field of an exact, prefix or numeric
//!   leaf (nested objects included; a `$or`, or a pattern spelled out into alternatives, gives
//!   the union of one set per branch); a JSONPath filter gives one anchor per `==` or numeric
//!   comparison among its top-level `&&` conjuncts ([`jsonpath_anchor`]). Each set is a
//!   *condition*: when the filter matches, every condition has an anchor that holds.
//! - Conditions are priced by how often they are expected to hold ([`cost`]). Each route indexes
//!   its cheapest condition and keeps up to four more as *checks*. A route with several filters
//!   has one condition: the union of each filter's cheapest. A route with no filter, or with a
//!   filter that has no condition, is a candidate for every record.
//! - Per topic, the indexed anchor paths form a trie, and each path has hash maps from exact
//!   values, from prefixes and from suffixes (one map per length) to routes, and an interval
//!   tree of numeric ranges.
//! - Matching walks only the anchor paths of the record's topic, looking through arrays, and
//!   probes each scalar found. A route whose indexed condition holds is looked at once
//!   (generation stamps: no clearing, no allocation); its checks are tested on the record, each
//!   distinct check once per record however many routes share it. Routes passing them are
//!   sorted and confirmed with [`crate::Route::matches`], so the result is exactly the naive
//!   evaluation's, in route order: the index only decides what need not be evaluated.

pub(crate) mod anchor;
mod cost;
mod hash;
mod index;
pub(crate) mod jsonpath_anchor;
mod ranges;
#[cfg(test)]
pub(crate) mod tests;

use self::anchor::{Anchor, Cost, priced};
use self::cost::Selectivity;
use self::hash::FastMap;
use self::index::{TopicIndex, TopicIndexBuilder};
use crate::filter::Filter;
use crate::json::Json;
use crate::route::{Route, RouteId};

/// Reusable working memory for [`crate::RouteTable::match_record_with`].
///
/// Holds one stamp per route and the candidate list; after the first record it no longer
/// allocates. One per thread; it may be used with any table.
#[derive(Debug, Clone, Default)]
pub struct MatchScratch {
    /// `stamps[route] == generation`: the route was already looked at for this record.
    stamps: Vec<u32>,
    /// `(generation, holds)` per check anchor: whether it holds for this record.
    known: Vec<(u32, bool)>,
    generation: u32,
    candidates: Vec<u32>,
    /// Routes looked at (their indexed condition held) since the scratch was made.
    looked_at: u64,
    /// Routes handed to the exact evaluator since the scratch was made.
    confirmed: u64,
}

impl MatchScratch {
    /// Empty scratch space; it grows to the table's size on first use.
    pub fn new() -> MatchScratch {
        MatchScratch::default()
    }

    /// How many routes had their indexed condition hold (each counted once per record), over
    /// every record matched with this scratch: the index's work.
    pub fn looked_at(&self) -> u64 {
        self.looked_at
    }

    /// How many candidate routes were evaluated exactly, over every record matched with this
    /// scratch (routes that match are counted too): the confirmation work.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// Starts a record: a fresh generation, with room for `routes` routes and `anchors` check
    /// anchors.
    fn start(&mut self, routes: usize, anchors: usize) {
        if self.stamps.len() < routes {
            self.stamps.resize(routes, 0);
        }
        if self.known.len() < anchors {
            self.known.resize(anchors, (0, false));
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.known.fill((0, false));
            self.generation = 1;
        }
        self.candidates.clear();
    }
}

/// Most conditions checked per route besides the indexed one.
const MAX_CHECKS: usize = 4;

/// The per-topic indexes of a route table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    topics: FastMap<Box<str>, TopicIndex>,
    /// Per route, its other conditions, cheapest first, as indexes into `check_anchors`:
    /// checked on the record before the route is evaluated.
    checks: Vec<Box<[Box<[u32]>]>>,
    /// Distinct anchors of all checks: routes sharing one check it once per record.
    check_anchors: Vec<Anchor>,
}

impl Matcher {
    /// Indexes `routes` (whose ids are their positions).
    pub(crate) fn build(routes: &[Route]) -> Matcher {
        let mut selectivity = Selectivity::default();
        for filter in routes.iter().flat_map(|r| &r.filters) {
            match filter {
                Filter::Pattern { pattern, .. } => {
                    pattern.anchor_candidates(&mut |a| selectivity.add(a));
                }
                Filter::JsonPath(f) => f
                    .anchor_candidates()
                    .into_iter()
                    .for_each(|a| selectivity.add(a)),
            }
        }
        let cost = |anchor: &Anchor| selectivity.cost(anchor);
        let mut matcher = Matcher::default();
        let mut anchor_ids: FastMap<Anchor, u32> = FastMap::default();
        let mut topics: FastMap<Box<str>, TopicIndexBuilder> = FastMap::default();
        for (position, route) in routes.iter().enumerate() {
            let id = position as u32;
            let mut conditions = route_conditions(route, &cost);
            conditions.sort_by_key(|(c, _)| *c);
            let mut conditions = conditions.into_iter().map(|(_, anchors)| anchors);
            let indexed = conditions.next();
            let checks = conditions.take(MAX_CHECKS).map(|anchors| {
                anchors
                    .into_iter()
                    .map(|anchor| {
                        *anchor_ids.entry(anchor).or_insert_with_key(|anchor| {
                            matcher.check_anchors.push(anchor.clone());
                            matcher.check_anchors.len() as u32 - 1
                        })
                    })
                    .collect()
            });
            matcher.checks.push(checks.collect());
            for topic in &route.topics {
                let index = topics.entry(topic.as_str().into()).or_default();
                match &indexed {
                    Some(anchors) => index.add_route(id, anchors),
                    None => index.add_always(id),
                }
            }
        }
        matcher.topics = topics.into_iter().map(|(t, b)| (t, b.build())).collect();
        matcher
    }

    /// Links every topic's index to what is parsed of a record (see [`TopicIndex::link`]).
    pub(crate) fn link(&mut self, need: &crate::projection::Need) {
        for index in self.topics.values_mut() {
            index.link(need);
        }
    }

    /// Writes the routes of `routes` that match the record into `out` (cleared first), in
    /// order: `view` is the record view (or the parts of it the filters read), `confirm` the
    /// exact evaluation of a route on it.
    pub(crate) fn match_record<'v>(
        &self,
        topic: &str,
        view: impl Json<'v>,
        scratch: &mut MatchScratch,
        out: &mut Vec<RouteId>,
        mut confirm: impl FnMut(u32) -> bool,
    ) {
        out.clear();
        let Some(index) = self.topics.get(topic) else {
            return;
        };
        scratch.start(self.checks.len(), self.check_anchors.len());
        let MatchScratch {
            stamps,
            known,
            generation,
            candidates,
            looked_at,
            confirmed,
        } = scratch;
        let generation = *generation;
        let mut holds = |anchor: u32| {
            let (seen, holds) = &mut known[anchor as usize];
            if *seen != generation {
                *seen = generation;
                *holds = self.check_anchors[anchor as usize].holds(view);
            }
            *holds
        };
        candidates.extend_from_slice(&index.always);
        index.candidates(view, &mut |route: u32| {
            let stamp = &mut stamps[route as usize];
            if *stamp == generation {
                return;
            }
            *stamp = generation;
            *looked_at += 1;
            let checks = &self.checks[route as usize];
            if checks.iter().all(|any| any.iter().any(|&a| holds(a))) {
                candidates.push(route);
            }
        });
        candidates.sort_unstable();
        *confirmed += candidates.len() as u64;
        out.extend(
            candidates
                .iter()
                .filter(|&&id| confirm(id))
                .map(|&id| RouteId(id)),
        );
    }
}

/// A route's necessary conditions, priced. With one filter, that filter's; with several (any
/// may match), one condition: the union of each filter's cheapest. None when the route has no
/// filter or a filter without conditions.
fn route_conditions(route: &Route, cost: Cost<'_>) -> Vec<(u64, Vec<Anchor>)> {
    match route.filters.as_slice() {
        [] => Vec::new(),
        [Filter::Pattern { pattern, .. }] => pattern.anchor_conjuncts(cost),
        [Filter::JsonPath(f)] => f.anchor_conjuncts(cost),
        filters => {
            let cheapest = filters.iter().map(|filter| match filter {
                Filter::Pattern { pattern, .. } => pattern.anchors(cost),
                Filter::JsonPath(f) => f.anchors(cost),
            });
            let mut union = Vec::new();
            for anchors in cheapest {
                match anchors {
                    Some(anchors) => union.extend(anchors),
                    None => return Vec::new(),
                }
            }
            vec![priced(cost, union)]
        }
    }
}
