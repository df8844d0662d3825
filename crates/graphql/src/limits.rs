//! Limits on what one request may ask for, so that no caller, however hostile,
//! can make the server do unbounded work: depth, complexity, directives and
//! aliases per document. Depth, complexity and directives are async-graphql's own
//! checks; aliases are counted here, in the parsed document, with fragment spreads
//! counted as often as they are spread.

use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest nesting of fields, fragments followed.
    pub max_depth: usize,
    /// Most fields one document may resolve, each counted once per place it stands.
    pub max_complexity: usize,
    /// Most aliases in one document, a fragment's counted once per spread.
    pub max_aliases: usize,
    /// Most directives on one field.
    pub max_directives: usize,
}

impl Default for Limits {
    /// Calibrated so that the standard introspection query and every seed document
    /// pass with room to spare: graphql-core's full introspection query needs a
    /// depth of 15 and a complexity of about 230 (measured against this schema).
    fn default() -> Self {
        Self {
            max_depth: 20,
            max_complexity: 500,
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
