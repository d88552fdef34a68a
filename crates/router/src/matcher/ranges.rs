//! Which numeric ranges contain a number: a centered interval tree.
//!
//! Each node holds the ranges that contain its center, sorted by lower end and by upper end; the
//! ranges wholly below the center go left, wholly above go right. A lookup walks one root-to-leaf
//! path and scans only ranges that contain the number, plus at most the ranges sharing an
//! excluded end point with it: O(log n + matches).

use super::anchor::Range;

/// A set of ranges, each tagged with a value (a route index).
#[derive(Debug, Clone, Default)]
pub(crate) struct RangeIndex {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Node {
    center: f64,
    /// Ranges containing the center, ascending by lower end.
    by_low: Vec<(Range, u32)>,
    /// The same ranges, descending by upper end.
    by_high: Vec<(Range, u32)>,
    left: Option<usize>,
    right: Option<usize>,
}

impl RangeIndex {
    /// Builds the index (ranges whose lower end lies above their upper end hold no number and
    /// are left out).
    pub(crate) fn new(mut ranges: Vec<(Range, u32)>) -> RangeIndex {
        ranges.retain(|(r, _)| r.low() <= r.high());
        let mut index = RangeIndex { nodes: Vec::new() };
        if !ranges.is_empty() {
            index.build(ranges);
        }
        index
    }

    /// Whether there are no ranges.
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn build(&mut self, ranges: Vec<(Range, u32)>) -> usize {
        let mut ends: Vec<f64> = ranges
            .iter()
            .flat_map(|(r, _)| [r.low(), r.high()])
            .filter(|x| x.is_finite())
            .collect();
        ends.sort_unstable_by(f64::total_cmp);
        let center = ends.get(ends.len() / 2).copied().unwrap_or(0.0);
        let (mut here, mut below, mut above) = (Vec::new(), Vec::new(), Vec::new());
        for (range, id) in ranges {
            if range.high() < center {
                below.push((range, id));
            } else if range.low() > center {
                above.push((range, id));
            } else {
                here.push((range, id));
            }
        }
        let mut by_low = here.clone();
        by_low.sort_by(|a, b| a.0.low().total_cmp(&b.0.low()));
        let mut by_high = here;
        by_high.sort_by(|a, b| b.0.high().total_cmp(&a.0.high()));
        let at = self.nodes.len();
        self.nodes.push(Node {
            center,
            by_low,
            by_high,
            left: None,
            right: None,
        });
        // The center is an end of some range, which stays here: both sides are smaller.
        if !below.is_empty() {
            let left = self.build(below);
            self.nodes[at].left = Some(left);
        }
        if !above.is_empty() {
            let right = self.build(above);
            self.nodes[at].right = Some(right);
        }
        at
    }

    /// Calls `found` with the value of every range containing `x`.
    pub(crate) fn stab(&self, x: f64, found: &mut impl FnMut(u32)) {
        let mut at = if self.nodes.is_empty() { None } else { Some(0) };
        while let Some(i) = at {
            let node = &self.nodes[i];
            if x < node.center {
                // Every range here reaches up to the center, past x.
                for (range, id) in node.by_low.iter().take_while(|(r, _)| r.low() <= x) {
                    if range.contains(x) {
                        found(*id);
                    }
                }
                at = node.left;
            } else if x > node.center {
                for (range, id) in node.by_high.iter().take_while(|(r, _)| r.high() >= x) {
                    if range.contains(x) {
                        found(*id);
                    }
                }
                at = node.right;
            } else {
                for (range, id) in &node.by_low {
                    if range.contains(x) {
                        found(*id);
                    }
                }
                at = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bound() -> impl Strategy<Value = Option<(f64, bool)>> {
        prop::option::of(((-20i32..20).prop_map(|v| f64::from(v) / 2.0), any::<bool>()))
    }

    proptest! {
        #[test]
        fn stab_finds_exactly_the_containing_ranges(
            ranges in prop::collection::vec((bound(), bound()), 0..60),
            xs in prop::collection::vec((-25i32..25).prop_map(|v| f64::from(v) / 2.0), 1..20),
        ) {
            let ranges: Vec<(Range, u32)> = ranges
                .into_iter()
                .map(|(lower, upper)| Range { lower, upper })
                .zip(0..)
                .collect();
            let index = RangeIndex::new(ranges.clone());
            for x in xs {
                let mut got = Vec::new();
                index.stab(x, &mut |id| got.push(id));
                got.sort_unstable();
                let expected: Vec<u32> =
                    ranges.iter().filter(|(r, _)| r.contains(x)).map(|(_, id)| *id).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
