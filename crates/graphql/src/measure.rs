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

use crate::limits::{QUERY_COST, page_len};

/// How many items one of keywarden's lists may return.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Items {
    /// Always at most this many.
    Fixed(usize),
    /// A page: `first` (or, when given, `last`), or `default` when neither is.
    Page { default: u64, last: bool },
    /// As many as the ids the named argument lists.
    Ids(&'static str),
}

/// What a field of keywarden's costs beyond 1 plus its selection.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Price {
    /// Reads one object: [`QUERY_COST`] plus its selection.
    Read,
    /// Reads a list: [`QUERY_COST`] plus its selection once per item.
    List(Items),
    /// Reads a list of objects one by one: [`QUERY_COST`], plus, per item,
    /// [`QUERY_COST`] and its selection.
    ReadEach(Items),
    /// A list already read by the field that holds it, whose length the
    /// account's own data bounds rather than the document: 1 plus its
    /// selection, counted once.
    Held,
}

const PAGE: Items = Items::Page {
    default: domain::MAX_PAGE,
    last: false,
};
const AUDIT_PAGE: Items = Items::Page {
    default: crate::types::DEFAULT_PAGE as u64,
    last: true,
};

/// The price of every field of keywarden's that reads the database or
/// returns a list (a test checks that every list is here, and that every
/// entry names a field). Any other field costs 1 plus its selection.
pub(crate) const PRICES: &[(&str, &str, Price)] = &[
    ("Query", "me", Price::Read),
    ("Query", "node", Price::Read),
    ("Query", "nodes", Price::ReadEach(Items::Ids("ids"))),
    ("Query", "serviceAccount", Price::Read),
    ("Query", "getAccount", Price::Read),
    ("Query", "checkPermission", Price::Read),
    ("Query", "heldPermissions", Price::Read),
    ("Account", "serviceAccounts", Price::List(PAGE)),
    ("Account", "members", Price::List(PAGE)),
    (
        "Account",
        "invitations",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    ("Account", "projects", Price::List(PAGE)),
    (
        "Account",
        "permissions",
        Price::List(Items::Fixed(domain::limits::PERMISSIONS.max as usize)),
    ),
    (
        // The account's own sets and the three built in.
        "Account",
        "permissionSets",
        Price::List(Items::Fixed(
            domain::limits::PERMISSION_SETS.max as usize + 3,
        )),
    ),
    ("Account", "groups", Price::List(PAGE)),
    ("Account", "auditEvents", Price::List(AUDIT_PAGE)),
    // A connection's lists are priced by the field that returns it.
    ("AuditEventConnection", "nodes", Price::Held),
    ("AuditEventConnection", "edges", Price::Held),
    (
        "User",
        "accounts",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    (
        "User",
        "personalAccessTokens",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    ("User", "auditEvents", Price::List(AUDIT_PAGE)),
    ("ServiceAccount", "account", Price::Read),
    ("ServiceAccount", "createdByUser", Price::Read),
    ("ServiceAccount", "attributedUser", Price::Read),
    (
        "ServiceAccount",
        "groups",
        Price::List(Items::Fixed(domain::limits::GROUPS_PER_MEMBER.max as usize)),
    ),
    ("ServiceAccount", "keyUsage", Price::Read),
    (
        "ServiceAccount",
        "keys",
        Price::List(Items::Page {
            default: crate::types::KEYS_PAGE,
            last: false,
        }),
    ),
    ("ServiceAccountKey", "roleCode", Price::Read),
    ("ServiceAccountKey", "createdByUser", Price::Read),
    ("ServiceAccountKey", "serviceAccount", Price::Read),
    (
        "AccountMember",
        "groups",
        Price::List(Items::Fixed(domain::limits::GROUPS_PER_MEMBER.max as usize)),
    ),
    ("AuditEvent", "actor", Price::Read),
    ("AuditEvent", "attributedUser", Price::Read),
    ("Project", "account", Price::Read),
    ("Group", "members", Price::List(PAGE)),
    (
        "Group",
        "grants",
        Price::List(Items::Fixed(domain::limits::GROUP_GRANTS.max as usize)),
    ),
    ("GroupGrant", "group", Price::Read),
    ("GroupGrant", "permissionSet", Price::Read),
    (
        "GroupGrant",
        "projects",
        Price::List(Items::Fixed(domain::limits::GRANT_PROJECTS.max as usize)),
    ),
    (
        "PermissionSource",
        "projects",
        Price::List(Items::Fixed(domain::limits::GRANT_PROJECTS.max as usize)),
    ),
    ("PermissionSet", "permissions", Price::Held),
    ("PermissionCheck", "sources", Price::Held),
    ("HeldPermissions", "permissions", Price::Held),
    ("HeldPermission", "sources", Price::Held),
];

fn price(ty: &str, field: &str) -> Option<Price> {
    PRICES
        .iter()
        .find(|(t, f, _)| *t == ty && *f == field)
        .map(|(_, _, p)| *p)
}

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
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery,
    };
    use async_graphql::parser::types::ExecutableDocument;
    use async_graphql::{Request, ServerError, ServerResult, Variables};

    use super::*;

    type Found = Arc<Mutex<Option<Result<usize, Unmeasured>>>>;

    /// Measures each document it is given, then stops the request.
    struct Probe {
        found: Found,
        limit: usize,
    }

    impl ExtensionFactory for Probe {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Probe {
                found: self.found.clone(),
                limit: self.limit,
            })
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Probe {
        async fn parse_query(
            &self,
            ctx: &ExtensionContext<'_>,
            query: &str,
            variables: &Variables,
            next: NextParseQuery<'_>,
        ) -> ServerResult<ExecutableDocument> {
            // Parsed here, so that the measure is tried without the parser's
            // own limit on how deep fragments may nest.
            let _ = next;
            let document = async_graphql::parser::parse_query(query)?;
            let measured = cost(&ctx.schema_env.registry, &document, variables, self.limit);
            *self.found.lock().unwrap() = Some(measured);
            Err(ServerError::new("measured", None))
        }
    }

    async fn measured_with(
        text: &str,
        variables: serde_json::Value,
        limit: usize,
    ) -> Result<usize, Unmeasured> {
        let found = Found::default();
        let schema = crate::schema_builder()
            .extension(Probe {
                found: found.clone(),
                limit,
            })
            .finish();
        let request = Request::new(text).variables(Variables::from_json(variables));
        let response = schema.execute(request).await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let measured = found.lock().unwrap().take();
        measured.unwrap_or_else(|| panic!("not parsed: {:?}", response.errors))
    }

    async fn measured(text: &str) -> Result<usize, Unmeasured> {
        measured_with(text, serde_json::json!({}), usize::MAX).await
    }

    /// Fields in a response's data: every key of every object, in lists once
    /// per item.
    fn fields(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Object(map) => map.values().map(|v| 1 + fields(v)).sum(),
            serde_json::Value::Array(items) => items.iter().map(fields).sum(),
            _ => 0,
        }
    }

    async fn answered(text: &str) -> serde_json::Value {
        let response = crate::schema_builder().finish().execute(text).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().unwrap()
    }

    /// graphql-js's `getIntrospectionQuery()`, which GraphiQL sends.
    const INTROSPECTION: &str = include_str!("../../../tests/introspection.graphql");

    fn nested_introspection(levels: usize) -> String {
        let mut inner = "name".to_owned();
        for _ in 0..levels {
            inner = format!("name interfaces {{ possibleTypes {{ {inner} }} }}");
        }
        format!("{{ __schema {{ types {{ {inner} }} }} }}")
    }

    /// `levels` fragments that each spread the next twice, ending in
    /// `__typename`.
    fn doubling_fragments(levels: usize) -> String {
        let mut text = "{ ...F0 }".to_owned();
        for i in 0..levels {
            text.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        text.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        text
    }

    #[tokio::test]
    async fn introspection_costs_what_answering_it_resolves() {
        for text in [
            INTROSPECTION.to_owned(),
            nested_introspection(1),
            nested_introspection(2),
            "{ __type(name: \"Account\") { fields { name type { name ofType { name } } } } }"
                .to_owned(),
        ] {
            let cost = measured(&text).await.unwrap();
            let resolved = fields(&answered(&text).await);
            // Never less than what runs; more only where a null or empty
            // list still counts its selection once.
            assert!(cost >= resolved, "{cost} < {resolved}: {text}");
            assert!(
                cost <= resolved + resolved / 4,
                "{cost} against {resolved}: {text}"
            );
        }
    }

    /// Where no list is empty and nothing is null, the measure is exactly
    /// what answering resolves, field for field.
    #[tokio::test]
    async fn each_introspection_list_counts_its_real_length() {
        for text in [
            "{ __schema { directives { name args { name type { name } } } } }",
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            "{ __type(name: \"RoleCode\") { enumValues { name } } }",
            "{ __type(name: \"Account\") { fields { name args { name } } } }",
            "{ __type(name: \"CreateGroupInput\") { inputFields { name type { name } } } }",
            "{ __type(name: \"Node\") { possibleTypes { name interfaces { name } } } }",
        ] {
            let cost = measured(text).await.unwrap();
            assert_eq!(cost, fields(&answered(text).await), "{text}");
        }
        // A null costs 1, whatever it selects: no subscriptions here.
        let text = "{ __schema { subscriptionType { name } } }";
        assert_eq!(measured(text).await, Ok(1 + 1));
    }

    /// A type this pass cannot follow (`__type` of a name there is none of)
    /// costs its selection once, measured plainly.
    #[tokio::test]
    async fn an_unknown_type_costs_its_selection_once() {
        let text = "{ __type(name: \"Nope\") { name fields { name } } }";
        assert_eq!(measured(text).await, Ok(1 + 1 + (1 + 1)));
    }

    /// A fragment costs what it would written in place: on `__Schema` it is
    /// measured as the schema, and on a type other than where it is spread, as
    /// that type.
    #[tokio::test]
    async fn a_fragment_costs_what_its_selection_costs_in_place() {
        for (spread, inline) in [
            (
                "{ __schema { ...S } } fragment S on __Schema { types { name } }",
                "{ __schema { types { name } } }",
            ),
            (
                "{ node(id: \"x\") { ...F } } fragment F on ServiceAccount { keys { id } }",
                "{ node(id: \"x\") { ... on ServiceAccount { keys { id } } } }",
            ),
        ] {
            let (a, b) = (measured(spread).await, measured(inline).await);
            assert_eq!(a, b, "{spread}");
            // Each is a list, counted by its length, not once.
            assert!(b.as_ref().is_ok_and(|&n| n > 30), "{inline}: {b:?}");
        }
    }

    /// A fragment on `__Schema` measured where it is defined (as every
    /// fragment is, used or not) counts the schema's lists too.
    #[tokio::test]
    async fn a_fragment_on_the_schema_alone_counts_the_schema() {
        let text = "{ __typename } fragment S on __Schema { types { name } }";
        let types = fields(&answered("{ __schema { types { name } } }").await);
        let refused = measured_with(text, serde_json::json!({}), types / 2).await;
        assert!(
            matches!(refused, Err(Unmeasured::OverLimit { .. })),
            "{refused:?}"
        );
    }

    /// The limit itself is allowed; one more is not.
    #[tokio::test]
    async fn a_document_at_the_limit_is_accepted_and_one_past_is_not() {
        let text = "{ __schema { types { name } } }";
        let cost = measured(text).await.unwrap();
        assert_eq!(
            measured_with(text, serde_json::json!({}), cost).await,
            Ok(cost)
        );
        assert!(matches!(
            measured_with(text, serde_json::json!({}), cost - 1).await,
            Err(Unmeasured::OverLimit { .. })
        ));
    }

    /// An account's permission sets are its own and the three built in.
    #[tokio::test]
    async fn permission_sets_count_the_built_in_ones() {
        let text = "{ getAccount(id: \"x\") { permissionSets { id } } }";
        let sets = domain::limits::PERMISSION_SETS.max as usize + 3;
        assert_eq!(measured(text).await, Ok(QUERY_COST + QUERY_COST + sets));
    }

    #[tokio::test]
    async fn the_standard_introspection_query_is_within_the_default_limit() {
        let cost = measured(INTROSPECTION).await.unwrap();
        assert!(cost <= crate::limits::DEFAULT_MAX_COST, "{cost}");
    }

    #[tokio::test]
    async fn nested_introspection_multiplies_and_is_refused() {
        let two = measured(&nested_introspection(2)).await.unwrap();
        let three = measured(&nested_introspection(3)).await.unwrap();
        assert!(three > 4 * two, "{two} then {three}");
        for levels in [4, 6, 12] {
            let refused = measured_with(
                &nested_introspection(levels),
                serde_json::json!({}),
                crate::limits::DEFAULT_MAX_COST,
            )
            .await;
            assert!(
                matches!(refused, Err(Unmeasured::OverLimit { at_least }) if at_least > crate::limits::DEFAULT_MAX_COST),
                "{levels}: {refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_fragment_counts_once_per_spread_and_is_measured_once() {
        // 2^n `__typename`s, and one field per level of fragments.
        for levels in [0, 1, 5, 10] {
            let cost = measured(&doubling_fragments(levels)).await.unwrap();
            assert_eq!(cost, 1 << levels, "{levels}");
        }
        for levels in [16, 23, 30, 60] {
            let refused = measured_with(
                &doubling_fragments(levels),
                serde_json::json!({}),
                crate::limits::DEFAULT_MAX_COST,
            )
            .await;
            assert!(
                matches!(refused, Err(Unmeasured::OverLimit { .. })),
                "{levels}: {refused:?}"
            );
        }
        // Without a limit it is still measured at once.
        assert_eq!(measured(&doubling_fragments(60)).await, Ok(1 << 60));
        // Deeper than the pass measures: refused as such.
        assert_eq!(
            measured(&doubling_fragments(99)).await,
            Err(Unmeasured::TooDeep)
        );
    }

    #[tokio::test]
    async fn every_field_counts_typename_included() {
        assert_eq!(measured("{ __typename }").await, Ok(1));
        assert_eq!(measured("{ a: __typename b: __typename }").await, Ok(2));
        assert_eq!(measured("{ me { __typename } }").await, Ok(11));
        // An unknown field costs 1 plus its selection; validation refuses it.
        assert_eq!(measured("{ nothing { here } }").await, Ok(2));
    }

    #[tokio::test]
    async fn a_fragment_that_spreads_itself_is_refused() {
        for text in [
            "{ ...A } fragment A on Query { ...A }",
            "{ ...A } fragment A on Query { me { ...B } } fragment B on Principal { ... on User { ...C } } fragment C on User { accounts { id } me2: __typename ...B }",
            "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }",
        ] {
            assert!(
                matches!(measured(text).await, Err(Unmeasured::Cycle(_))),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn unused_fragments_are_measured_against_the_limit() {
        let unused = doubling_fragments(30).replacen("{ ...F0 }", "{ __typename }", 1);
        let refused = measured_with(&unused, serde_json::json!({}), 1000).await;
        assert!(
            matches!(refused, Err(Unmeasured::OverLimit { .. })),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn pages_count_what_they_ask_for() {
        let keys =
            |args: &str| format!("{{ serviceAccount(id: \"x\") {{ keys{args} {{ id }} }} }}");
        // serviceAccount 10, keys 10 + n × 1.
        assert_eq!(measured(&keys("")).await, Ok(20 + 50));
        assert_eq!(measured(&keys("(first: 3)")).await, Ok(23));
        assert_eq!(measured(&keys("(first: 1000)")).await, Ok(20 + 100));
        assert_eq!(measured(&keys("(first: -5)")).await, Ok(20));
        assert_eq!(measured(&keys("(first: null)")).await, Ok(70));
        let with = |n: serde_json::Value| async move {
            let text = "query($n: Int) { serviceAccount(id: \"x\") { keys(first: $n) { id } } }";
            measured_with(text, serde_json::json!({ "n": n }), usize::MAX).await
        };
        assert_eq!(with(serde_json::json!(7)).await, Ok(27));
        assert_eq!(with(serde_json::Value::Null).await, Ok(70));
        let defaulted =
            "query($n: Int = 4) { serviceAccount(id: \"x\") { keys(first: $n) { id } } }";
        assert_eq!(measured(defaulted).await, Ok(24));
        // Audit pages take `last` when `first` is not given.
        let audit = |args: &str| {
            format!("{{ me {{ ... on User {{ auditEvents{args} {{ nodes {{ id }} }} }} }} }}")
        };
        assert_eq!(measured(&audit("")).await, Ok(10 + 10 + 50 * 2));
        assert_eq!(measured(&audit("(last: 5)")).await, Ok(10 + 10 + 5 * 2));
        assert_eq!(
            measured(&audit("(first: 2, last: 5)")).await,
            Ok(10 + 10 + 2 * 2)
        );
    }

    #[tokio::test]
    async fn a_variable_whose_default_the_operations_disagree_on_costs_the_most() {
        // B's default is neither A's nor a full page: whichever operation the
        // measure met first, taking its default would cost less than a page.
        let text = "query A($n: Int = 1) { serviceAccount(id: \"x\") { keys(first: $n) { id } } } \
                    query B($n: Int = 50) { __typename }";
        // Operation A: 21 at most if the defaults applied to it alone; the
        // measure does not know which runs, so A's keys count a full page.
        assert_eq!(measured(text).await, Ok(20 + 100 + 1));
        let given = measured_with(text, serde_json::json!({ "n": 2 }), usize::MAX).await;
        assert_eq!(given, Ok(22 + 1));
    }

    #[tokio::test]
    async fn nodes_count_their_ids() {
        let text = "query($ids: [ObjectID!]!) { nodes(ids: $ids) { id } }";
        let ids = |n: usize| serde_json::json!({ "ids": vec!["x"; n] });
        assert_eq!(measured_with(text, ids(0), usize::MAX).await, Ok(10));
        assert_eq!(
            measured_with(text, ids(5), usize::MAX).await,
            Ok(10 + 5 * 11)
        );
        assert_eq!(
            measured("{ nodes(ids: [\"a\", \"b\"]) { id } }").await,
            Ok(10 + 2 * 11)
        );
        assert_eq!(measured("{ nodes(ids: \"a\") { id } }").await, Ok(10 + 11));
    }

    #[tokio::test]
    async fn the_operations_of_a_document_add_up() {
        let text = "query A { me { id } } query B { me { id name } }";
        assert_eq!(measured(text).await, Ok(11 + 12));
    }

    /// Every list of keywarden's types is priced, and every price names a
    /// field there is.
    #[test]
    fn every_list_is_priced_and_every_price_is_a_field() {
        use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
        let sdl = crate::sdl();
        let schema = async_graphql::parser::parse_schema(&sdl).unwrap();
        let mut fields = Vec::new();
        for definition in &schema.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let list = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            for field in list {
                let is_list = matches!(field.node.ty.node.base, BaseType::List(_));
                fields.push((
                    ty.node.name.node.to_string(),
                    field.node.name.node.to_string(),
                    is_list,
                ));
            }
        }
        for (ty, field, is_list) in &fields {
            if *is_list && ty != "Mutation" {
                assert!(
                    price(ty, field).is_some(),
                    "{ty}.{field} is a list with no price"
                );
            }
        }
        for (ty, field, _) in PRICES {
            assert!(
                fields.iter().any(|(t, f, _)| t == ty && f == field),
                "{ty}.{field} is priced but is not a field"
            );
        }
    }
}
