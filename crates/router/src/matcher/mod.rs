//! The compiled matcher behind [`crate::RouteTable::match_record`]: an index that narrows a
//! record's routes down to a few candidates, each then confirmed by the exact evaluator.
//!
//! # How it works
//!
//! - Every filter is reduced to *anchors* ([`anchor`]): necessary conditions of the form "some
//!   scalar at this field path equals this value (or, folded to lower case, this folded value)
//!   / starts with this prefix / ends with this suffix / lies in this numeric range". A pattern
//!   gives one set of anchors per field of an exact, prefix, suffix, numeric, IPv4 `cidr`,
//!   `equals-ignore-case` or `wildcard` leaf (a wildcard by its literal head, else its tail) (nested objects included; a `$or`, or a pattern spelled out into alternatives, gives
//!   the union of one set per branch); a JSONPath filter gives one anchor per `==` or numeric
//!   comparison among its top-level `&&` conjuncts ([`jsonpath_anchor`]). Each set is a
//!   *condition*: when the filter matches, every condition has an anchor that holds.
//! - Conditions are priced by how often they are expected to hold ([`cost`]). Each route indexes
//!   its cheapest condition and keeps up to four more as *checks*. A route with several filters
//!   has one condition: the union of each filter's cheapest. A route with no filter, or with a
//!   filter that has no condition, is a candidate for every record.
//! - Per topic, the indexed anchor paths form a trie, and each path has hash maps from exact
//!   values, from folded `equals-ignore-case` values (probed with the record's string folded),
//!   from prefixes and from suffixes (one map per length) to routes, and an interval tree of
//!   numeric ranges.
//! - Matching walks only the anchor paths of the record's topic, looking through arrays, and
//!   probes each scalar found. A route whose indexed condition holds is looked at once
//!   (generation stamps: no clearing, no allocation); its checks are tested on the record, each
//!   distinct check once per record however many routes share it. Routes passing them are
//!   sorted and confirmed with [`crate::Route::matches`], so the result is exactly the naive
//!   evaluation's, in route order: the index only decides what need not be evaluated.
//! - A route with one pattern checks that pattern's *leaves* instead of anchors
//!   ([`crate::pattern::leaves`]): each field leaf alone, shared by every route with the same
//!   leaf and evaluated once per record. When the pattern is one conjunction and no object
//!   holding two of its leaves is an array in the record, the leaves holding *is* the match and
//!   the route is not evaluated again; otherwise it is confirmed as above.

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
use crate::json::{Json, Shape};
use crate::pattern::leaves::{Leaf, Leaves};
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
    /// The same per distinct pattern leaf.
    leaves_known: Vec<(u32, bool)>,
    /// The same per shared object path: whether no array lies on it.
    plain_known: Vec<(u32, bool)>,
    generation: u32,
    /// Route ids, with [`PROVEN`] set on those whose leaves decided them.
    candidates: Vec<u64>,
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
    fn start(&mut self, routes: usize, anchors: usize, leaves: usize, plains: usize) {
        if self.stamps.len() < routes {
            self.stamps.resize(routes, 0);
        }
        for (known, len) in [
            (&mut self.known, anchors),
            (&mut self.leaves_known, leaves),
            (&mut self.plain_known, plains),
        ] {
            if known.len() < len {
                known.resize(len, (0, false));
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.known.fill((0, false));
            self.leaves_known.fill((0, false));
            self.plain_known.fill((0, false));
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
    /// Per route with one pattern: its leaves, as indexes into `leaves`, the most shared
    /// first; all must hold before it is evaluated (empty for other routes).
    leaf_checks: Vec<Box<[u32]>>,
    /// Per route: when its leaves decide it, the objects (indexes into `plains`) that must
    /// hold no array for them to; `None`: it is evaluated.
    decided_by_leaves: Vec<Option<Box<[u32]>>>,
    /// Distinct pattern leaves: routes sharing one evaluate it once per record.
    leaves: Vec<Leaf>,
    /// Distinct member paths of objects shared by two leaves of a pattern.
    plains: Vec<Vec<String>>,
}

/// Candidates proven to match by their leaves carry this bit (above any route id).
const PROVEN: u64 = 1 << 32;

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
        let mut leaf_ids: FastMap<Box<[u8]>, u32> = FastMap::default();
        let mut plain_ids: FastMap<Vec<String>, u32> = FastMap::default();
        let mut leaf_uses: Vec<u32> = Vec::new();
        let bump = |uses: &mut Vec<u32>, leaf: u32| {
            if uses.len() <= leaf as usize {
                uses.resize(leaf as usize + 1, 0);
            }
            uses[leaf as usize] += 1;
        };
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
            let leaves = match route.filters.as_slice() {
                [Filter::Pattern { pattern, .. }] => pattern.leaves(),
                _ => None,
            };
            match leaves {
                Some(Leaves { leaves, shared }) if !leaves.is_empty() => {
                    // Leaf checks subsume the anchor checks.
                    drop(checks);
                    matcher.checks.push(Box::default());
                    let mut ids: Vec<u32> = leaves
                        .into_iter()
                        .map(|mut leaf| {
                            let key = std::mem::take(&mut leaf.key);
                            *leaf_ids.entry(key).or_insert_with(|| {
                                matcher.leaves.push(leaf);
                                matcher.leaves.len() as u32 - 1
                            })
                        })
                        .collect();
                    ids.iter().for_each(|&l| bump(&mut leaf_uses, l));
                    ids.dedup();
                    matcher.leaf_checks.push(ids.into());
                    matcher.decided_by_leaves.push(shared.map(|paths| {
                        paths
                            .into_iter()
                            .map(|path| {
                                *plain_ids.entry(path).or_insert_with_key(|path| {
                                    matcher.plains.push(path.clone());
                                    matcher.plains.len() as u32 - 1
                                })
                            })
                            .collect()
                    }));
                }
                _ => {
                    matcher.checks.push(checks.collect());
                    matcher.leaf_checks.push(Box::default());
                    matcher.decided_by_leaves.push(None);
                }
            }
            for topic in &route.topics {
                let index = topics.entry(topic.as_str().into()).or_default();
                match &indexed {
                    Some(anchors) => index.add_route(id, anchors),
                    None => index.add_always(id),
                }
            }
        }
        // Most shared leaves first: they are the likeliest to be known already for a record.
        for checks in &mut matcher.leaf_checks {
            let mut sorted = checks.to_vec();
            sorted.sort_by_key(|&l| std::cmp::Reverse(leaf_uses[l as usize]));
            *checks = sorted.into();
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
        scratch.start(
            self.checks.len(),
            self.check_anchors.len(),
            self.leaves.len(),
            self.plains.len(),
        );
        let MatchScratch {
            stamps,
            known,
            leaves_known,
            plain_known,
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
        let mut leaf_holds = |leaf: u32| {
            let (seen, holds) = &mut leaves_known[leaf as usize];
            if *seen != generation {
                *seen = generation;
                *holds = self.leaves[leaf as usize].holds(view);
            }
            *holds
        };
        let mut plain = |at: u32| {
            let (seen, holds) = &mut plain_known[at as usize];
            if *seen != generation {
                *seen = generation;
                *holds = no_array_on(view, &self.plains[at as usize]);
            }
            *holds
        };
        let mut consider = |route: u32| {
            let at = route as usize;
            if !self.checks[at]
                .iter()
                .all(|any| any.iter().any(|&a| holds(a)))
                || !self.leaf_checks[at].iter().all(|&l| leaf_holds(l))
            {
                return;
            }
            let proven = self.decided_by_leaves[at]
                .as_ref()
                .is_some_and(|objects| objects.iter().all(|&o| plain(o)));
            candidates.push(u64::from(route) | if proven { PROVEN } else { 0 });
        };
        index.always.iter().for_each(|&route| consider(route));
        index.candidates(view, &mut |route: u32| {
            let stamp = &mut stamps[route as usize];
            if *stamp == generation {
                return;
            }
            *stamp = generation;
            *looked_at += 1;
            consider(route);
        });
        candidates.sort_unstable_by_key(|&c| c as u32);
        out.extend(candidates.iter().filter_map(|&c| {
            let id = c as u32;
            if c & PROVEN != 0 {
                return Some(RouteId(id));
            }
            *confirmed += 1;
            confirm(id).then_some(RouteId(id))
        }));
    }
}

/// Whether no array lies on `path` below `view` (each member on the way is missing, a scalar
/// or an object).
fn no_array_on<'v, J: Json<'v>>(view: J, path: &[String]) -> bool {
    let mut at = view;
    for name in path {
        if !matches!(at.shape(), Shape::Object) {
            return true;
        }
        match at.get(name) {
            Some(next) if matches!(next.shape(), Shape::Array) => return false,
            Some(next) => at = next,
            None => return true,
        }
    }
    true
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
