//! The cost of a document, measured before anything else looks at it.
//!
//! Validation and execution both walk a document with its fragments inlined,
//! once per spread, so a short text can stand for an exponential amount of
//! work. This pass is linear instead: it measures each selection once for each
//! kind of object it applies to, keeps the answer, and reuses it at every
//! other spread, so a fragment spread a million times is measured once and
//! counted a million times. A document it refuses never reaches validation.
//!
//! The rules (the contract is `docs/limits.md`):
//! - every field counts 1 plus its selection, `__typename` included;
//! - a field of keywarden's that reads the database costs [`QUERY_COST`]
//!   plus its selection, and a list of them [`QUERY_COST`] plus its
//!   selection once per item it can return (see [`PRICES`]);
//! - introspection is measured against the schema it describes: `types`
//!   counts the selection once for each type there is, `fields` once for
//!   each field of that type, and so on, so a nesting of `interfaces` and
//!   `possibleTypes` costs what answering it would;
//! - the operations of a document add up.
//!
//! The result is an upper bound on the fields an execution resolves. Apart
//! from it, each operation's plain size (every field 1, fragments inlined,
//! lists not multiplied) must be within the same limit: that is what
//! validation walks, even where a list would be empty.

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Name, Positioned, Value};

use crate::documents::limits::{QUERY_COST, page_len};
use crate::documents::prices::{Items, Price, price};

/// Why a document was not measured to the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unmeasured {
    /// It costs more than the limit (`at_least` is what was counted when
    /// the count passed it).
    OverLimit { at_least: usize },
    /// A fragment spreads itself, directly or through others.
    Cycle(Name),
    /// Selections nest deeper than [`MAX_NESTING`], fragments followed.
    TooDeep,
}

/// How deep selections may nest, fields and fragments alike, for this pass
/// to measure them (the depth limit proper, lower, is validation's).
pub(crate) const MAX_NESTING: usize = 64;

/// What a selection is measured against.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Node<'r> {
    /// An object of one of keywarden's types; all of a type cost the same.
    /// An unknown type's fields each cost 1 plus their selection.
    Object(&'r str),
    /// `__Schema`.
    Schema,
    /// `__Type` for a type reference (`Foo`, `[Foo!]!`).
    Type(&'r str),
    /// `__Field`: the field `field` of type `owner`.
    Field { owner: &'r str, field: &'r str },
    /// `__InputValue` of the given type reference.
    InputValue(&'r str),
    /// `__EnumValue`.
    EnumValue,
    /// `__Directive` by name.
    Directive(&'r str),
}

const UNKNOWN: Node<'static> = Node::Object("");

/// Measures `document`'s operations, stopping as soon as the count passes
/// `limit`. Every fragment definition is measured too, used or not, since
/// validation walks each.
pub(crate) fn cost(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
    limit: usize,
) -> Result<usize, Unmeasured> {
    let operations = operations(document);
    let mut measure = Measure {
        registry,
        document,
        variables,
        only: match operations.as_slice() {
            [only] => Some(*only),
            _ => None,
        },
        limit,
        // A document within the limit takes at most about this many steps:
        // each measured selection is counted in the one that holds it, and
        // selections nest no deeper than fields and fragments do.
        steps_left: limit.saturating_mul(256),
        memo: HashMap::new(),
        open: Vec::new(),
        nesting: 0,
    };
    let mut total = 0usize;
    let mut plain = 0usize;
    for op in &operations {
        let root = match op.node.ty {
            async_graphql::parser::types::OperationType::Query => Some(&registry.query_type),
            async_graphql::parser::types::OperationType::Mutation => {
                registry.mutation_type.as_ref()
            }
            async_graphql::parser::types::OperationType::Subscription => {
                registry.subscription_type.as_ref()
            }
        };
        let node = root.map_or(UNKNOWN, |name| Node::Object(name.as_str()));
        let spent = measure.set(&op.node.selection_set, node)?;
        total = total.saturating_add(spent);
        measure.check(total)?;
        // Its size with every fragment inlined, which is what validation
        // walks, whatever the lists hold.
        let size = measure.set(&op.node.selection_set, UNKNOWN)?;
        plain = plain.saturating_add(size);
        measure.check(plain)?;
    }
    for fragment in document.fragments.values() {
        let on = fragment.node.type_condition.node.on.node.as_str();
        let spent = measure.set(&fragment.node.selection_set, measure.object(on))?;
        measure.check(spent)?;
    }
    Ok(total)
}

struct Measure<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The operation, when the document has one, whose variables' defaults
    /// apply everywhere.
    only: Option<&'a Positioned<OperationDefinition>>,
    limit: usize,
    steps_left: usize,
    memo: HashMap<(usize, Node<'a>), usize>,
    /// The fragments being measured, for cycles.
    open: Vec<&'a Name>,
    /// How many selections hold the one being measured.
    nesting: usize,
}

impl<'a> Measure<'a> {
    fn check(&self, counted: usize) -> Result<(), Unmeasured> {
        if counted > self.limit {
            Err(Unmeasured::OverLimit { at_least: counted })
        } else {
            Ok(())
        }
    }

    fn step(&mut self) -> Result<(), Unmeasured> {
        match self.steps_left.checked_sub(1) {
            Some(left) => {
                self.steps_left = left;
                Ok(())
            }
            None => Err(Unmeasured::OverLimit {
                at_least: self.limit.saturating_add(1),
            }),
        }
    }

    /// The node for an object of the named type: introspection's types are
    /// measured as the schema, the rest by type.
    fn object(&self, name: &'a str) -> Node<'a> {
        match name {
            "__Schema" => Node::Schema,
            // A fragment on an introspection type measured on its own:
            // the costliest case is any type, which `Type` of an unknown
            // name cannot give; count it plainly.
            _ => Node::Object(name),
        }
    }

    /// The cost of `set` applied to `node`, each pair measured once.
    fn set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        node: Node<'a>,
    ) -> Result<usize, Unmeasured> {
        let key = (std::ptr::from_ref(set) as usize, node);
        if let Some(&known) = self.memo.get(&key) {
            return Ok(known);
        }
        if self.nesting >= MAX_NESTING {
            return Err(Unmeasured::TooDeep);
        }
        self.nesting += 1;
        let measured = self.measure_set(set, node);
        self.nesting -= 1;
        let total = measured?;
        self.memo.insert(key, total);
        Ok(total)
    }

    fn measure_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        node: Node<'a>,
    ) -> Result<usize, Unmeasured> {
        let mut total = 0usize;
        for selection in &set.node.items {
            self.step()?;
            let more = match &selection.node {
                Selection::Field(field) => self.field(&field.node, node)?,
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str());
                    let inner = match (node, on) {
                        (Node::Object(_), Some(on)) => self.object(on),
                        _ => node,
                    };
                    self.set(&inline.node.selection_set, inner)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let Some(fragment) = self.document.fragments.get(name) else {
                        // Unknown: validation refuses it.
                        continue;
                    };
                    if self.open.contains(&name) {
                        return Err(Unmeasured::Cycle(name.clone()));
                    }
                    let inner = match node {
                        Node::Object(_) => {
                            self.object(fragment.node.type_condition.node.on.node.as_str())
                        }
                        _ => node,
                    };
                    self.open.push(name);
                    let spent = self.set(&fragment.node.selection_set, inner);
                    self.open.pop();
                    spent?
                }
            };
            total = total.saturating_add(more);
            self.check(total)?;
        }
        Ok(total)
    }

    /// What a field's selection costs on `node`, or 0 for a leaf.
    fn inner(&mut self, field: &'a Field, node: Node<'a>) -> Result<usize, Unmeasured> {
        if field.selection_set.node.items.is_empty() {
            Ok(0)
        } else {
            self.set(&field.selection_set, node)
        }
    }

    /// A list whose items are `nodes`: 1, and its selection once for each.
    fn each(
        &mut self,
        field: &'a Field,
        nodes: impl IntoIterator<Item = Node<'a>>,
    ) -> Result<usize, Unmeasured> {
        let mut total = 0usize;
        for node in nodes {
            self.step()?;
            total = total.saturating_add(self.inner(field, node)?);
            self.check(total)?;
        }
        Ok(1usize.saturating_add(total))
    }

    fn field(&mut self, field: &'a Field, node: Node<'a>) -> Result<usize, Unmeasured> {
        let name = field.name.node.as_str();
        if name == "__typename" {
            return Ok(1);
        }
        let registry = self.registry;
        match node {
            Node::Object(ty) => {
                match name {
                    "__schema" if ty == registry.query_type => {
                        return Ok(1usize.saturating_add(self.inner(field, Node::Schema)?));
                    }
                    "__type" if ty == registry.query_type => {
                        return self.one_type(field);
                    }
                    _ => {}
                }
                let declared = registry
                    .types
                    .get(ty)
                    .and_then(|t| t.field_by_name(name))
                    .map(|f| f.ty.as_str());
                let child = declared.map_or(UNKNOWN, |t| {
                    Node::Object(MetaTypeName::concrete_typename(t))
                });
                let selection = self.inner(field, child)?;
                Ok(match price(ty, name) {
                    None | Some(Price::Held) => 1usize.saturating_add(selection),
                    Some(Price::Read) => QUERY_COST.saturating_add(selection),
                    Some(Price::List(items)) => QUERY_COST
                        .saturating_add(self.items(field, items).saturating_mul(selection)),
                    Some(Price::ReadEach(items)) => QUERY_COST.saturating_add(
                        self.items(field, items)
                            .saturating_mul(QUERY_COST.saturating_add(selection)),
                    ),
                })
            }
            Node::Schema => match name {
                "types" => {
                    let names = registry.types.keys().map(|t| Node::Type(t.as_str()));
                    self.each(field, names)
                }
                "directives" => {
                    let names = registry
                        .directives
                        .keys()
                        .map(|d| Node::Directive(d.as_str()));
                    self.each(field, names)
                }
                "queryType" => self.type_ref(field, Some(registry.query_type.as_str())),
                "mutationType" => self.type_ref(field, registry.mutation_type.as_deref()),
                "subscriptionType" => self.type_ref(field, registry.subscription_type.as_deref()),
                _ => self.plain(field),
            },
            Node::Type(reference) => {
                let wrapped = match MetaTypeName::create(reference) {
                    MetaTypeName::NonNull(inner) | MetaTypeName::List(inner) => Some(inner),
                    MetaTypeName::Named(_) => None,
                };
                let named = wrapped.map_or_else(|| registry.types.get(reference), |_| None);
                match name {
                    "ofType" => self.type_ref(field, wrapped),
                    "fields" => {
                        // Introspection leaves out the root's `__schema` and `__type`.
                        let fields = named.and_then(MetaType::fields).into_iter().flat_map(|f| {
                            f.keys()
                                .filter(|field| !field.starts_with("__"))
                                .map(|field| Node::Field {
                                    owner: reference,
                                    field: field.as_str(),
                                })
                        });
                        self.each(field, fields)
                    }
                    "interfaces" => {
                        let list = named
                            .filter(|t| {
                                matches!(t, MetaType::Object { .. } | MetaType::Interface { .. })
                            })
                            .and_then(|_| registry.implements.get(reference))
                            .into_iter()
                            .flat_map(|set| set.iter().map(|i| Node::Type(i.as_str())));
                        self.each(field, list)
                    }
                    "possibleTypes" => {
                        let list = match named {
                            Some(
                                MetaType::Interface { possible_types, .. }
                                | MetaType::Union { possible_types, .. },
                            ) => Some(possible_types),
                            _ => None,
                        };
                        let list = list
                            .into_iter()
                            .flat_map(|set| set.iter().map(|p| Node::Type(p.as_str())));
                        self.each(field, list)
                    }
                    "enumValues" => {
                        let count = match named {
                            Some(MetaType::Enum { enum_values, .. }) => enum_values.len(),
                            _ => 0,
                        };
                        self.each(field, std::iter::repeat_n(Node::EnumValue, count))
                    }
                    "inputFields" => {
                        let list = match named {
                            Some(MetaType::InputObject { input_fields, .. }) => Some(input_fields),
                            _ => None,
                        };
                        let list = list.into_iter().flat_map(|fields| {
                            fields.values().map(|v| Node::InputValue(v.ty.as_str()))
                        });
                        self.each(field, list)
                    }
                    _ => self.plain(field),
                }
            }
            Node::Field { owner, field: of } => {
                let meta = registry.types.get(owner).and_then(|t| t.field_by_name(of));
                match name {
                    "type" => self.type_ref(field, meta.map(|m| m.ty.as_str())),
                    "args" => {
                        let args = meta
                            .into_iter()
                            .flat_map(|m| m.args.values().map(|a| Node::InputValue(a.ty.as_str())));
                        self.each(field, args)
                    }
                    _ => self.plain(field),
                }
            }
            Node::InputValue(reference) => match name {
                "type" => self.type_ref(field, Some(reference)),
                _ => self.plain(field),
            },
            Node::Directive(directive) => match name {
                "args" => {
                    let args = registry
                        .directives
                        .get(directive)
                        .into_iter()
                        .flat_map(|d| d.args.values().map(|a| Node::InputValue(a.ty.as_str())));
                    self.each(field, args)
                }
                _ => self.plain(field),
            },
            Node::EnumValue => self.plain(field),
        }
    }

    /// A field of introspection's that costs 1 plus its selection, measured
    /// plainly (a leaf, or one this pass does not know).
    fn plain(&mut self, field: &'a Field) -> Result<usize, Unmeasured> {
        Ok(1usize.saturating_add(self.inner(field, UNKNOWN)?))
    }

    /// A field that gives the `__Type` of `reference`, or null (which costs 1).
    fn type_ref(
        &mut self,
        field: &'a Field,
        reference: Option<&'a str>,
    ) -> Result<usize, Unmeasured> {
        match reference {
            Some(r) => Ok(1usize.saturating_add(self.inner(field, Node::Type(r))?)),
            None => Ok(1),
        }
    }

    /// `__type(name:)`: the named type, or, when the name cannot be known
    /// here, the costliest of them.
    fn one_type(&mut self, field: &'a Field) -> Result<usize, Unmeasured> {
        let registry = self.registry;
        match self.argument(field, "name") {
            Arg::Known(Value::String(name)) => {
                let known = registry
                    .types
                    .get_key_value(name.as_str())
                    .map(|(k, _)| k.as_str());
                match known {
                    Some(k) => self.type_ref(field, Some(k)),
                    None => self.plain(field),
                }
            }
            Arg::Absent | Arg::Known(_) => self.plain(field),
            Arg::Unknown => {
                let mut most = self.plain(field)?;
                for name in registry.types.keys() {
                    self.step()?;
                    most = most.max(self.type_ref(field, Some(name.as_str()))?);
                }
                Ok(most)
            }
        }
    }

    /// How many items a priced list can return.
    fn items(&self, field: &Field, items: Items) -> usize {
        match items {
            Items::Fixed(n) => n,
            Items::Page { default, last } => {
                let asked = |arg: &str| match self.argument(field, arg) {
                    Arg::Absent | Arg::Known(Value::Null) => None,
                    Arg::Known(Value::Number(n)) => Some(
                        n.as_i64()
                            .map_or(i32::MAX, |n| i32::try_from(n.max(0)).unwrap_or(i32::MAX)),
                    ),
                    // Not known here, or not a number (refused when it runs):
                    // the largest page.
                    Arg::Known(_) | Arg::Unknown => Some(i32::MAX),
                };
                let first = asked("first");
                let first = if last {
                    first.or_else(|| asked("last"))
                } else {
                    first
                };
                page_len(first, default)
            }
            Items::Ids(arg) => match self.argument(field, arg) {
                Arg::Known(Value::List(ids)) => ids.len(),
                Arg::Absent | Arg::Known(Value::Null) => 0,
                // One id given without a list is coerced into a list of one.
                Arg::Known(_) => 1,
                Arg::Unknown => domain::MAX_PAGE as usize,
            },
        }
    }

    /// The argument's value as far as it can be known before the document
    /// runs: a literal, a variable's value, or the default of a variable of
    /// the document's only operation (a variable that is not given and has
    /// no default is null). Where operations differ on a variable's default,
    /// and the request gives no value, it is not known.
    fn argument(&self, field: &Field, arg: &str) -> Arg {
        let Some(value) = field.get_argument(arg) else {
            return Arg::Absent;
        };
        let mut known = true;
        let resolved = value.node.clone().into_const_with(|name| {
            if let Some(v) = self.variables.get(&name) {
                return Ok::<_, std::convert::Infallible>(v.clone());
            }
            let defaults = |op: &Positioned<OperationDefinition>| {
                op.node
                    .variable_definitions
                    .iter()
                    .find(|d| d.node.name.node == name)
                    .and_then(|d| d.node.default_value().cloned())
            };
            let default = match self.only {
                Some(op) => defaults(op),
                None => {
                    let mut all = operations(self.document).into_iter().filter_map(defaults);
                    let first = all.next();
                    if first.is_some() {
                        known = false;
                    }
                    first
                }
            };
            Ok(default.unwrap_or(Value::Null))
        });
        match resolved {
            Ok(v) if known => Arg::Known(v),
            _ => Arg::Unknown,
        }
    }
}

/// An argument as the measure sees it.
enum Arg {
    Absent,
    Known(Value),
    Unknown,
}

/// Every operation of a document.
pub(crate) fn operations(document: &ExecutableDocument) -> Vec<&Positioned<OperationDefinition>> {
    match &document.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    }
}

#[cfg(test)]
mod tests;
