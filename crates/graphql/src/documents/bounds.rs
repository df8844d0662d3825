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
/// A list of address ranges: each entry is read as at most 64 characters.
const RANGES: Bound = Bound {
    items: domain::MAX_RANGES,
    chars: 64,
};
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
    ("Query.unusedCredentials(after)", CURSOR),
    ("AcceptAccountInvitationInput.secret", chars(200)),
    ("Mutation.reportLeakedCredential(token)", chars(200)),
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
    ("CreateServiceAccountKeyInput.allowedRanges", RANGES),
    ("UpdateServiceAccountKeyInput.allowedRanges", RANGES),
    ("UpdateServiceAccountInput.allowedRanges", RANGES),
    ("CreateServiceAccountInput.allowedRanges", RANGES),
    ("UpdateAccountCredentialPolicyInput.allowedRanges", RANGES),
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
    for op in crate::documents::measure::operations(document) {
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
        for op in crate::documents::measure::operations(self.document) {
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
mod tests;
