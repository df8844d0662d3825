//! Every list and every string a request can give has a maximum length, and a
//! request with a longer one is refused, coded `BAD_USER_INPUT`, before
//! anything runs: no resolver reads for it, and no database sees it.
//!
//! The maxima are by position (an argument of a field, or a field of an input
//! object), in [`BOUNDS`]; `docs/limits.md` lists them, and a test checks that
//! every list and string position of the schema is there. A position the table
//! does not name still has one: [`OTHER_ITEMS`] and [`OTHER_CHARS`].
//!
//! The walk is linear: each argument in the document is looked at once (a
//! fragment's where it is defined, not at every spread), and each variable
//! once for each position it is used at.

use std::collections::HashSet;

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::registry::{MetaInputValue, MetaType, MetaTypeName, Registry};
use async_graphql::{Name, Positioned, Value as ConstValue, Variables};
use async_graphql_value::Value;

/// The most items, and the most characters in each string, at one position.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    pub items: usize,
    pub chars: usize,
}

/// A list at a position [`BOUNDS`] does not name holds at most this many.
pub(crate) const OTHER_ITEMS: usize = 100;
/// A string (ids and times included) at a position [`BOUNDS`] does not name
/// is at most this long.
pub(crate) const OTHER_CHARS: usize = 255;

const fn chars(chars: usize) -> Bound {
    Bound {
        items: OTHER_ITEMS,
        chars,
    }
}

const fn items(items: usize) -> Bound {
    Bound {
        items,
        chars: OTHER_CHARS,
    }
}

const NAME: Bound = chars(domain::ServiceAccountName::MAX_CHARS);
const DESCRIPTION: Bound = chars(domain::Description::MAX_CHARS);
const PROJECT: Bound = chars(domain::ProjectName::MAX_CHARS);
/// `resource:action`, each part at most 64.
const PERMISSION: Bound = chars(2 * domain::PermissionName::MAX_PART + 1);
const CURSOR: Bound = chars(100);
const PERMISSIONS: Bound = Bound {
    items: domain::limits::SET_PERMISSIONS.max as usize,
    chars: PERMISSION.chars,
};

/// The maximum at every list and string position: `Type.field(argument)` for
/// an argument, `Input.field` for an input object's field.
pub(crate) const BOUNDS: &[(&str, Bound)] = &[
    ("Query.nodes(ids)", items(domain::MAX_PAGE as usize)),
    ("Account.serviceAccounts(search)", NAME),
    ("Account.auditEvents(after)", CURSOR),
    ("Account.auditEvents(before)", CURSOR),
    ("User.auditEvents(after)", CURSOR),
    ("User.auditEvents(before)", CURSOR),
    ("AcceptAccountInvitationInput.secret", chars(200)),
    ("AddAccountMemberInput.username", chars(64)),
    ("AddAccountMemberInput.email", chars(254)),
    ("AuditEventFilter.action", chars(100)),
    ("CheckPermissionInput.permission", PERMISSION),
    ("CheckPermissionInput.project", PROJECT),
    ("HeldPermissionsInput.project", PROJECT),
    (
        "CreateGroupGrantInput.projectIds",
        items(domain::limits::GRANT_PROJECTS.max as usize),
    ),
    ("CreateGroupInput.name", NAME),
    ("CreateGroupInput.description", DESCRIPTION),
    ("UpdateGroupInput.name", NAME),
    ("UpdateGroupInput.description", DESCRIPTION),
    ("CreatePermissionInput.name", PERMISSION),
    ("CreatePermissionInput.description", DESCRIPTION),
    ("CreatePermissionSetInput.name", NAME),
    ("CreatePermissionSetInput.description", DESCRIPTION),
    ("CreatePermissionSetInput.permissions", PERMISSIONS),
    ("UpdatePermissionSetInput.name", NAME),
    ("UpdatePermissionSetInput.description", DESCRIPTION),
    ("UpdatePermissionSetInput.permissions", PERMISSIONS),
    ("CreatePersonalAccessTokenInput.name", NAME),
    ("CreateProjectInput.name", PROJECT),
    ("CreateProjectInput.description", DESCRIPTION),
    ("UpdateProjectInput.name", PROJECT),
    ("UpdateProjectInput.description", DESCRIPTION),
    ("CreateServiceAccountInput.name", NAME),
    ("CreateServiceAccountInput.description", DESCRIPTION),
    (
        "CreateServiceAccountInput.groupIds",
        items(domain::limits::GROUPS_PER_MEMBER.max as usize),
    ),
    ("UpdateServiceAccountInput.name", NAME),
    ("UpdateServiceAccountInput.description", DESCRIPTION),
    ("CreateServiceAccountKeyInput.name", NAME),
    ("CreateServiceAccountKeyInput.description", DESCRIPTION),
    (
        "GroupMembersInput.memberIds",
        items(domain::MEMBERS_PER_CHANGE),
    ),
];

pub(crate) fn bound(position: &str) -> Bound {
    BOUNDS.iter().find(|(p, _)| *p == position).map_or(
        Bound {
            items: OTHER_ITEMS,
            chars: OTHER_CHARS,
        },
        |(_, b)| *b,
    )
}

/// Checks every argument of `document`, and every variable where it is used.
/// The message says which position is too long, and by how much.
pub(crate) fn check(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Result<(), String> {
    let mut walk = Walk {
        registry,
        document,
        variables,
        checked: HashSet::new(),
    };
    for op in crate::measure::operations(document) {
        let root = match op.node.ty {
            OperationType::Query => Some(registry.query_type.as_str()),
            OperationType::Mutation => registry.mutation_type.as_deref(),
            OperationType::Subscription => registry.subscription_type.as_deref(),
        };
        walk.set(&op.node.selection_set, root.unwrap_or_default())?;
    }
    for fragment in document.fragments.values() {
        let on = fragment.node.type_condition.node.on.node.as_str();
        walk.set(&fragment.node.selection_set, on)?;
    }
    Ok(())
}

struct Walk<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// Variables already checked at a position.
    checked: HashSet<(&'a str, String)>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a Positioned<SelectionSet>, ty: &'a str) -> Result<(), String> {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => self.field(&field.node, ty)?,
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(ty, |c| c.node.on.node.as_str());
                    self.set(&inline.node.selection_set, on)?;
                }
                // Each fragment is walked where it is defined.
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn field(&mut self, field: &'a Field, ty: &'a str) -> Result<(), String> {
        let name = field.name.node.as_str();
        let meta = self
            .registry
            .types
            .get(ty)
            .and_then(|t| t.field_by_name(name));
        for (arg, value) in &field.arguments {
            let arg = arg.node.as_str();
            let declared = meta.and_then(|m| m.args.get(arg)).map(|a| a.ty.as_str());
            let position = format!("{ty}.{name}({arg})");
            self.value(&value.node, declared, &position)?;
        }
        let child = meta.map_or("", |m| MetaTypeName::concrete_typename(&m.ty));
        self.set(&field.selection_set, child)
    }

    /// A literal, which may hold variables.
    fn value(
        &mut self,
        value: &'a Value,
        ty: Option<&'a str>,
        position: &str,
    ) -> Result<(), String> {
        match value {
            Value::Variable(name) => self.variable(name, ty, position),
            Value::List(list) => {
                let inner = self.list_of(ty);
                too_many(list.len(), position, None)?;
                for item in list {
                    self.value(item, inner, position)?;
                }
                Ok(())
            }
            Value::Object(fields) => {
                for (field, item) in fields {
                    let (declared, inner) = self.input_field(ty, field.as_str());
                    self.value(item, declared, &inner)?;
                }
                Ok(())
            }
            Value::String(s) => too_long(s, position, None),
            _ => Ok(()),
        }
    }

    /// A variable used at `position`: its value, or else the defaults the
    /// operations give it, checked there once.
    fn variable(
        &mut self,
        name: &'a Name,
        ty: Option<&'a str>,
        position: &str,
    ) -> Result<(), String> {
        if !self.checked.insert((name.as_str(), position.to_owned())) {
            return Ok(());
        }
        if let Some(given) = self.variables.get(name) {
            return self.constant(given, ty, position, name);
        }
        for op in crate::measure::operations(self.document) {
            let defaults = op
                .node
                .variable_definitions
                .iter()
                .filter(|d| d.node.name.node == *name)
                .filter_map(|d| d.node.default_value.as_ref());
            for default in defaults {
                self.constant(&default.node, ty, position, name)?;
            }
        }
        Ok(())
    }

    /// A variable's value.
    fn constant(
        &mut self,
        value: &ConstValue,
        ty: Option<&'a str>,
        position: &str,
        variable: &Name,
    ) -> Result<(), String> {
        match value {
            ConstValue::List(list) => {
                let inner = self.list_of(ty);
                too_many(list.len(), position, Some(variable))?;
                for item in list {
                    self.constant(item, inner, position, variable)?;
                }
                Ok(())
            }
            ConstValue::Object(fields) => {
                for (field, item) in fields {
                    let (declared, inner) = self.input_field(ty, field.as_str());
                    self.constant(item, declared, &inner, variable)?;
                }
                Ok(())
            }
            ConstValue::String(s) => too_long(s, position, Some(variable)),
            _ => Ok(()),
        }
    }

    /// The type of a list's items, when `ty` is a list.
    fn list_of(&self, ty: Option<&'a str>) -> Option<&'a str> {
        let ty = ty?;
        match MetaTypeName::create(ty).unwrap_non_null() {
            MetaTypeName::List(inner) => Some(inner),
            _ => None,
        }
    }

    /// A field of the input object `ty`: its declared type and its position.
    fn input_field(&self, ty: Option<&'a str>, field: &str) -> (Option<&'a str>, String) {
        let named = ty.map(MetaTypeName::concrete_typename);
        let declared: Option<&'a MetaInputValue> = named
            .and_then(|n| self.registry.types.get(n))
            .and_then(|t| match t {
                MetaType::InputObject { input_fields, .. } => input_fields.get(field),
                _ => None,
            });
        (
            declared.map(|d| d.ty.as_str()),
            format!("{}.{field}", named.unwrap_or("?")),
        )
    }
}

/// Where a refusal says the value came from.
fn given(position: &str, variable: Option<&Name>) -> String {
    match variable {
        Some(v) => format!("`{position}` (from the variable ${v})"),
        None => format!("`{position}`"),
    }
}

fn too_many(len: usize, position: &str, variable: Option<&Name>) -> Result<(), String> {
    let max = bound(position).items;
    if len > max {
        return Err(format!(
            "{} lists {len} items, over its limit of {max}",
            given(position, variable)
        ));
    }
    Ok(())
}

fn too_long(s: &str, position: &str, variable: Option<&Name>) -> Result<(), String> {
    let max = bound(position).chars;
    // Counts no further than one past the limit.
    if s.len() > max && s.chars().nth(max).is_some() {
        return Err(format!(
            "{} is longer than its limit of {max} characters",
            given(position, variable)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
    use async_graphql::{Request, Variables};

    use super::*;

    /// Every position of the schema that takes a list or a string: its name
    /// in [`BOUNDS`], whether it is a list, and a field where it can be given
    /// (`Type`, `field`, and the argument it is in).
    fn positions() -> Vec<(String, bool, String, String, String)> {
        let sdl = crate::sdl();
        let schema = async_graphql::parser::parse_schema(&sdl).unwrap();
        let named = |t: &Type| -> String {
            let mut t = t;
            while let BaseType::List(inner) = &t.base {
                t = inner;
            }
            match &t.base {
                BaseType::Named(n) => n.to_string(),
                BaseType::List(_) => unreachable!(),
            }
        };
        let is_list = |t: &Type| matches!(t.base, BaseType::List(_));
        let stringy = |t: &Type| named(t) == "String";
        // Where each input type can be given.
        let mut takes = Vec::new();
        let mut found = Vec::new();
        for definition in &schema.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let owner = ty.node.name.node.to_string();
            let fields = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            for field in fields {
                for arg in &field.node.arguments {
                    let t = &arg.node.ty.node;
                    let (f, a) = (
                        field.node.name.node.to_string(),
                        arg.node.name.node.to_string(),
                    );
                    takes.push((named(t), owner.clone(), f.clone(), a.clone()));
                    if is_list(t) || stringy(t) {
                        found.push((format!("{owner}.{f}({a})"), is_list(t), owner.clone(), f, a));
                    }
                }
            }
        }
        for definition in &schema.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let TypeKind::InputObject(input) = &ty.node.kind else {
                continue;
            };
            let name = ty.node.name.node.to_string();
            for field in &input.fields {
                let t = &field.node.ty.node;
                if !(is_list(t) || stringy(t)) {
                    continue;
                }
                let (_, owner, f, a) = takes
                    .iter()
                    .find(|(input, ..)| *input == name)
                    .cloned()
                    .unwrap_or_else(|| panic!("{name} is taken by no field"));
                let position = format!("{name}.{}", field.node.name.node);
                found.push((
                    position,
                    is_list(t),
                    owner,
                    f,
                    format!("{a}.{}", field.node.name.node),
                ));
            }
        }
        found
    }

    #[test]
    fn every_list_and_string_position_has_its_bound_and_every_bound_a_position() {
        let positions = positions();
        for (position, ..) in &positions {
            assert!(
                BOUNDS.iter().any(|(p, _)| p == position),
                "{position} takes a list or a string and has no bound"
            );
        }
        for (position, _) in BOUNDS {
            assert!(
                positions.iter().any(|(p, ..)| p == position),
                "{position} is bounded but is no position"
            );
        }
    }

    /// Sends `value` at the position, as a literal in a fragment on the type
    /// that has the field (so that nothing else needs to be valid), and as a
    /// variable; answers the errors' codes and messages.
    async fn sent(
        owner: &str,
        field: &str,
        path: &str,
        value: serde_json::Value,
    ) -> Vec<(String, String)> {
        let schema = crate::schema_builder()
            .extension(crate::documents::Documents::new(30, usize::MAX))
            .finish();
        // `input.memberIds` becomes `input: { memberIds: VALUE }`.
        let wrap = |inner: String| {
            let mut parts: Vec<&str> = path.split('.').collect();
            let last = parts.pop().unwrap();
            let mut text = format!("{last}: {inner}");
            for part in parts.iter().rev() {
                text = format!("{part}: {{ {text} }}");
            }
            text
        };
        let literal = value.to_string();
        let documents = [
            (
                format!(
                    "{{ __typename }} fragment F on {owner} {{ {field}({}) {{ __typename }} }}",
                    wrap(literal)
                ),
                Variables::default(),
            ),
            (
                format!(
                    "query($v: String) {{ __typename }} fragment F on {owner} {{ {field}({}) {{ __typename }} }}",
                    wrap("$v".to_owned())
                ),
                Variables::from_json(serde_json::json!({ "v": value })),
            ),
        ];
        let mut errors = Vec::new();
        for (text, variables) in documents {
            let response = schema
                .execute(Request::new(text).variables(variables))
                .await;
            for e in response.errors {
                let code = e
                    .extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                errors.push((code, e.message));
            }
        }
        errors
    }

    #[tokio::test]
    async fn every_position_refuses_one_past_its_bound_and_not_its_bound() {
        for (position, is_list, owner, field, path) in positions() {
            let b = bound(&position);
            let (at, past) = if is_list {
                (
                    serde_json::json!(vec!["x"; b.items]),
                    serde_json::json!(vec!["x"; b.items + 1]),
                )
            } else {
                (
                    serde_json::json!("é".repeat(b.chars)),
                    serde_json::json!("é".repeat(b.chars + 1)),
                )
            };
            let refused = sent(&owner, &field, &path, past).await;
            assert_eq!(refused.len(), 2, "{position}: {refused:?}");
            for (code, message) in &refused {
                assert_eq!(code, "\"BAD_USER_INPUT\"", "{position}: {message}");
                assert!(message.contains(&position), "{position}: {message}");
            }
            let within = sent(&owner, &field, &path, at).await;
            assert!(
                within.iter().all(|(_, m)| !m.contains("limit of")),
                "{position}: {within:?}"
            );
            if is_list {
                // Each item's length is bounded too.
                let long = serde_json::json!(["é".repeat(b.chars + 1)]);
                let refused = sent(&owner, &field, &path, long).await;
                assert!(
                    refused.iter().any(|(_, m)| m.contains("characters")),
                    "{position}: {refused:?}"
                );
            }
        }
    }

    /// The figures of docs/limits.md's table are the bounds checked: the table
    /// is read, not the code, so that a changed bound must change the
    /// contract too.
    #[test]
    fn the_documented_bounds_are_the_bounds() {
        let doc = include_str!("../../../docs/limits.md");
        let table = &doc[doc.find("| position | most items |").unwrap()..];
        let number = |cell: &str| -> Option<usize> {
            let cell = cell.trim().replace(',', "");
            (!cell.is_empty()).then(|| cell.parse().unwrap())
        };
        let mut listed = Vec::new();
        let mut rows = 0;
        for line in table.lines().skip(2) {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            let (items, chars) = (number(cells[1]), number(cells[2]));
            let what = cells[0].trim();
            rows += 1;
            if what.starts_with("every other `name`") {
                for (position, b) in BOUNDS {
                    if position.ends_with(".name") && !listed.contains(position) {
                        assert_eq!(Some(b.chars), chars, "{position}");
                    }
                }
                continue;
            }
            if what.starts_with("every `description`") {
                for (position, b) in BOUNDS {
                    if position.ends_with(".description") {
                        assert_eq!(Some(b.chars), chars, "{position}");
                    }
                }
                continue;
            }
            if what.starts_with("any other position") {
                assert_eq!((Some(OTHER_ITEMS), Some(OTHER_CHARS)), (items, chars));
                continue;
            }
            // Backticked positions; `(before)` after `Type.field(after)` is
            // another argument of the same field.
            let mut last = String::new();
            for (i, part) in what.split('`').enumerate() {
                if i % 2 == 0 {
                    continue;
                }
                let position = match part.strip_prefix('(') {
                    Some(_) => format!("{}{part}", &last[..last.find('(').unwrap()]),
                    None => part.to_owned(),
                };
                let b = bound(&position);
                assert!(
                    BOUNDS.iter().any(|(p, _)| *p == position),
                    "{position} is documented but has no bound"
                );
                if let Some(items) = items {
                    assert_eq!(b.items, items, "{position}: items");
                }
                if let Some(chars) = chars {
                    assert_eq!(b.chars, chars, "{position}: characters");
                }
                last = position.clone();
                listed.push(BOUNDS.iter().find(|(p, _)| *p == position).unwrap().0);
            }
        }
        assert!(rows >= 10 && listed.len() >= 15, "the table was read");
    }

    async fn refusals(text: &str, variables: serde_json::Value) -> Vec<String> {
        let schema = crate::schema_builder()
            .extension(crate::documents::Documents::new(30, usize::MAX))
            .finish();
        let request = Request::new(text).variables(Variables::from_json(variables));
        schema
            .execute(request)
            .await
            .errors
            .into_iter()
            .map(|e| e.message)
            .filter(|m| m.contains("limit of"))
            .collect()
    }

    /// A variable of an input type is checked field by field, each field at
    /// its own position, and so is each item of a list inside it.
    #[tokio::test]
    async fn a_variable_holding_an_input_object_is_checked_at_each_field() {
        let members =
            "mutation($i: GroupMembersInput!) { addGroupMembers(input: $i) { group { id } } }";
        let ids =
            |n: usize| serde_json::json!({ "i": { "groupId": "x", "memberIds": vec!["x"; n] } });
        let refused = refusals(members, ids(domain::MEMBERS_PER_CHANGE + 1)).await;
        assert_eq!(
            refused,
            [format!(
                "`GroupMembersInput.memberIds` (from the variable $i) lists {} items, over its limit of {}",
                domain::MEMBERS_PER_CHANGE + 1,
                domain::MEMBERS_PER_CHANGE
            )]
        );
        assert!(
            refusals(members, ids(domain::MEMBERS_PER_CHANGE))
                .await
                .is_empty()
        );
        let set = "mutation($i: CreatePermissionSetInput!) { createPermissionSet(input: $i) { permissionSet { id } } }";
        let permissions = |p: String| serde_json::json!({ "i": { "accountId": "x", "name": "n", "permissions": [p] } });
        let refused = refusals(set, permissions("a".repeat(130))).await;
        assert_eq!(
            refused,
            [
                "`CreatePermissionSetInput.permissions` (from the variable $i) is longer than its limit of 129 characters"
            ]
        );
        assert!(refusals(set, permissions("a".repeat(129))).await.is_empty());
    }

    /// A variable left out is checked by its own default, not another's.
    #[tokio::test]
    async fn a_default_is_checked_where_its_own_variable_is_used() {
        let long_description = "d".repeat(1000);
        let text = format!(
            "query($s: String = \"short\", $d: String = \"{long_description}\") {{ __typename }} \
             fragment F on Account {{ serviceAccounts(search: $s) {{ id }} }} \
             fragment G on Mutation {{ updateServiceAccount(input: {{ serviceAccountId: \"x\", description: $d }}) {{ serviceAccount {{ id }} }} }}"
        );
        assert_eq!(
            refusals(&text, serde_json::json!({})).await,
            Vec::<String>::new()
        );
        let too_long = text.replace("\"short\"", &format!("\"{}\"", "s".repeat(256)));
        assert_eq!(
            refusals(&too_long, serde_json::json!({})).await,
            [
                "`Account.serviceAccounts(search)` (from the variable $s) is longer than its limit of 255 characters"
            ]
        );
    }

    /// A schema with a list of input objects, which keywarden's has none of
    /// yet: each item's fields are checked at their own positions.
    mod nested {
        use async_graphql::{InputObject, Object};

        #[derive(InputObject)]
        pub struct Pair {
            pub name: String,
        }

        #[derive(InputObject)]
        pub struct Batch {
            pub pairs: Vec<Pair>,
        }

        pub struct Query;

        #[Object]
        impl Query {
            async fn take(&self, batch: Batch) -> usize {
                batch.pairs.iter().map(|p| p.name.len()).sum()
            }
        }
    }

    #[tokio::test]
    async fn each_item_of_a_list_of_input_objects_is_checked_field_by_field() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::build(nested::Query, EmptyMutation, EmptySubscription)
            .extension(crate::documents::Documents::new(30, usize::MAX))
            .finish();
        let long = "x".repeat(OTHER_CHARS + 1);
        let literal = Request::new(format!(
            "{{ take(batch: {{ pairs: [{{ name: \"ok\" }}, {{ name: \"{long}\" }}] }}) }}"
        ));
        let variable =
            Request::new("query($b: Batch!) { take(batch: $b) }").variables(Variables::from_json(
                serde_json::json!({ "b": { "pairs": [{ "name": "ok" }, { "name": long }] } }),
            ));
        let mut messages = Vec::new();
        for request in [literal, variable] {
            let response = schema.execute(request).await;
            messages.extend(response.errors.into_iter().map(|e| e.message));
        }
        assert_eq!(
            messages,
            [
                format!("`Pair.name` is longer than its limit of {OTHER_CHARS} characters"),
                format!(
                    "`Pair.name` (from the variable $b) is longer than its limit of {OTHER_CHARS} characters"
                ),
            ]
        );
    }

    #[test]
    fn a_position_with_no_bound_of_its_own_has_the_general_one() {
        assert_eq!(
            bound("Nowhere.at(all)"),
            Bound {
                items: OTHER_ITEMS,
                chars: OTHER_CHARS
            }
        );
        assert_eq!(
            bound("GroupMembersInput.memberIds").items,
            domain::MEMBERS_PER_CHANGE
        );
    }
}
