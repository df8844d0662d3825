use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, ServerResult, Variables};

use super::*;
use crate::documents::prices::PRICES;

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
const INTROSPECTION: &str = include_str!("../../../../../tests/introspection.graphql");

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
    assert!(cost <= crate::documents::limits::DEFAULT_MAX_COST, "{cost}");
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
            crate::documents::limits::DEFAULT_MAX_COST,
        )
        .await;
        assert!(
            matches!(refused, Err(Unmeasured::OverLimit { at_least }) if at_least > crate::documents::limits::DEFAULT_MAX_COST),
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
            crate::documents::limits::DEFAULT_MAX_COST,
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
    let keys = |args: &str| format!("{{ serviceAccount(id: \"x\") {{ keys{args} {{ id }} }} }}");
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
    let defaulted = "query($n: Int = 4) { serviceAccount(id: \"x\") { keys(first: $n) { id } } }";
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
