//! Limits on what one request may ask for, so that no caller, however hostile,
//! can make the server do unbounded work: depth, cost, directives and aliases per
//! document. Depth and directives are async-graphql's own checks; aliases are
//! counted here, in the parsed document, with fragment spreads counted as often
//! as they are spread.
//!
//! The cost of a document is measured before it is validated, by
//! [`crate::documents::measure`], and charged against what is left of the request's
//! budget by the documents extension (see `docs/limits.md`).

use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::collections::HashMap;

/// What a field that reads the database adds to a document's cost.
pub const QUERY_COST: usize = 10;

/// How many items a page asked for with `first` can hold: `default` when not
/// asked, never more than the largest page. (A size out of range is refused
/// when the field runs; here it only must not count as less than it can be.)
pub fn page_len(first: Option<i32>, default: u64) -> usize {
    let asked = first.map_or(default, |n| u64::try_from(n).unwrap_or(0));
    usize::try_from(asked.min(domain::MAX_PAGE)).unwrap_or(usize::MAX)
}

#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest nesting of fields, fragments followed.
    pub max_depth: usize,
    /// The highest cost a request may have (a batch's operations share it).
    pub max_cost: usize,
    /// Most aliases in one document, a fragment's counted once per spread.
    pub max_aliases: usize,
    /// Most directives on one field.
    pub max_directives: usize,
}

/// The default cost limit. The seed's heaviest document, every service account
/// of an account with every key (100 × 50), costs 31,722; the limit leaves room
/// for a few more fields on it. Queries are then at most a tenth of this.
pub const DEFAULT_MAX_COST: usize = 50_000;

impl Default for Limits {
    /// Calibrated so that the standard introspection query and every seed document
    /// pass with room to spare: graphql-core's full introspection query needs a
    /// depth of 15 (measured against this schema).
    fn default() -> Self {
        Self {
            max_depth: 20,
            max_cost: DEFAULT_MAX_COST,
            max_aliases: 30,
            max_directives: 5,
        }
    }
}

/// Aliases in the document, counting a fragment's once per spread; stops counting
/// once past `cap`.
pub(crate) fn aliases(document: &ExecutableDocument, cap: usize) -> usize {
    let mut memo: HashMap<Name, usize> = HashMap::new();
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(count(
            &operation.node.selection_set.node,
            document,
            &mut memo,
            cap,
            0,
        ));
        if total > cap {
            break;
        }
    }
    total
}

fn count(
    set: &SelectionSet,
    document: &ExecutableDocument,
    memo: &mut HashMap<Name, usize>,
    cap: usize,
    nesting: usize,
) -> usize {
    // Fragment cycles are refused by validation later; here they just stop.
    if nesting > 64 {
        return 0;
    }
    let mut total = 0usize;
    for selection in &set.items {
        let more = match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count(
                        &field.node.selection_set.node,
                        document,
                        memo,
                        cap,
                        nesting + 1,
                    )
            }
            Selection::InlineFragment(fragment) => count(
                &fragment.node.selection_set.node,
                document,
                memo,
                cap,
                nesting + 1,
            ),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if let Some(&known) = memo.get(name) {
                    known
                } else {
                    let inner = document.fragments.get(name).map_or(0, |f| {
                        count(&f.node.selection_set.node, document, memo, cap, nesting + 1)
                    });
                    memo.insert(name.clone(), inner);
                    inner
                }
            }
        };
        total = total.saturating_add(more);
        if total > cap {
            break;
        }
    }
    total
}
