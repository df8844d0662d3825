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
        .extension(crate::documents::extension::Documents::new(30, usize::MAX))
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
    let doc = include_str!("../../../../../docs/limits.md");
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
        .extension(crate::documents::extension::Documents::new(30, usize::MAX))
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
    let ids = |n: usize| serde_json::json!({ "i": { "groupId": "x", "memberIds": vec!["x"; n] } });
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
        .extension(crate::documents::extension::Documents::new(30, usize::MAX))
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
