//! The list query language: the query parameters of a list request, compiled to parameterised
//! SQL that gives the same rows on PostgreSQL and SQLite.
//!
//! The rules follow the reference server (Django REST Framework with django-filter):
//!
//! - `_limit` and `_offset` select the page ([`Pagination`], [`page_links`]).
//! - `_order` sorts by comma-separated keys of the [`Resource`], `-` for descending.
//! - `_search` requires every term to occur, ignoring case, in some search field.
//! - Every other parameter not starting with `_` filters a field: `<field>` for equality, or
//!   `<field>__<operator>` ([`Operator`]). Unknown fields and operators are ignored.
//!
//! When a key repeats, its last value counts, as Django's `QueryDict.get` reads it. The SQL
//! text holds only the developer-written column expressions of the [`Resource`] and `$N`
//! placeholders. Every request value is a bound parameter.
//!
//! A handler compiles the request with [`ListQuery::from_request`], which also checks that the
//! ids named by foreign-key filters exist. It can then add its own scoping condition with
//! [`ListQuery::add_condition`] and run [`Database::list_page`](crate::Database::list_page).

mod dialect;
mod error;
mod filters;
mod foreign_keys;
mod order;
mod page;
mod parse;
mod resource;
mod run;
mod search;
mod values;

pub use dialect::DatePart;
pub use error::{errors_to_json, ParamError, QueryError};
pub use filters::Operator;
pub use foreign_keys::{check_foreign_keys, ForeignKeyCheck};
pub use page::{page_links, PageLinks, Pagination, DEFAULT_LIMIT, MAX_LIMIT};
pub use resource::{Field, FieldKind, OrderKey, Resource, SearchField};
pub use run::Page;
pub use search::split_terms;
pub use values::{Params, Value};

use error::NULL_CHARACTERS;

use crate::{Backend, Database};

/// Most `_search` terms, and longest term, accepted: each term becomes a pattern that both
/// databases match against every search field, and the databases reject (or take seconds on)
/// thousands of terms or very long patterns.
const MAX_SEARCH_TERMS: usize = 20;
const MAX_SEARCH_TERM_LENGTH: usize = 200;

/// A list request compiled to SQL fragments for one backend.
#[derive(Clone, Debug)]
pub struct ListQuery {
    backend: Backend,
    conditions: Vec<String>,
    params: Params,
    order_by: String,
    /// The page that `_limit` and `_offset` select.
    pub pagination: Pagination,
}

/// A list request whose foreign-key filters have not been checked yet.
#[derive(Clone, Debug)]
pub struct ParsedQuery {
    query: ListQuery,
    errors: Vec<ParamError>,
    foreign_key_checks: Vec<ForeignKeyCheck>,
}

impl ListQuery {
    /// Compiles the query parameters of a list request and checks its foreign-key filters, with
    /// one extra query when there are any. Fails with every rejected parameter.
    pub async fn from_request(database: &Database, resource: &Resource, pairs: &[(String, String)]) -> Result<ListQuery, QueryError> {
        ListQuery::parse(resource, pairs, database.backend()).validate(database).await
    }

    /// Compiles the query parameters of a list request for `backend` without touching the
    /// database. [`ParsedQuery::validate`] completes it.
    pub fn parse(resource: &Resource, pairs: &[(String, String)], backend: Backend) -> ParsedQuery {
        let request = RequestParams::new(pairs);
        let mut parsed = ParsedQuery {
            query: ListQuery {
                backend,
                conditions: Vec::new(),
                params: Params::default(),
                order_by: order::order_by(resource, request.get("_order"), backend),
                pagination: Pagination::from_values(request.get("_limit"), request.get("_offset")),
            },
            errors: Vec::new(),
            foreign_key_checks: Vec::new(),
        };
        for (position, param, value) in request.filters() {
            parsed.add_filter(resource, position, param, value);
        }
        if let Some((position, value)) = request.get_with_position("_search") {
            parsed.add_search(resource, position, value);
        }
        parsed.errors.sort_by_key(|error| error.position);
        parsed
    }

    /// Adds a condition that rows must also meet, such as a role-based scope. `build` binds
    /// its values with [`Params::bind`] and returns SQL over the resource's columns.
    pub fn add_condition(&mut self, build: impl FnOnce(&mut Params) -> String) {
        let condition = build(&mut self.params);
        self.conditions.push(condition);
    }

    /// Returns the `WHERE` clause with its keyword, or an empty string when nothing filters.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            return String::new();
        }
        let wrapped: Vec<String> = self.conditions.iter().map(|condition| format!("({condition})")).collect();
        format!("WHERE {}", wrapped.join(" AND "))
    }

    /// Returns the `ORDER BY` list, without the keywords. It always ends with a tie-breaker on the id.
    pub fn order_by(&self) -> &str {
        &self.order_by
    }

    /// Returns the values bound by the `WHERE` clause.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Returns the backend the SQL was written for.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl ParsedQuery {
    /// Returns the parameters rejected so far, in request order. Foreign-key checks may add more.
    pub fn errors(&self) -> &[ParamError] {
        &self.errors
    }

    /// Returns the ids that foreign-key filters name, to check with [`check_foreign_keys`].
    pub fn foreign_key_checks(&self) -> &[ForeignKeyCheck] {
        &self.foreign_key_checks
    }

    /// Returns the compiled query, which is valid only if [`ParsedQuery::validate`] succeeds.
    pub fn query(&self) -> &ListQuery {
        &self.query
    }

    /// Checks the foreign-key filters in one query and returns the query, or every rejected
    /// parameter in request order.
    pub async fn validate(self, database: &Database) -> Result<ListQuery, QueryError> {
        let mut errors = self.errors;
        errors.extend(check_foreign_keys(database, &self.foreign_key_checks).await?);
        if errors.is_empty() {
            return Ok(self.query);
        }
        errors.sort_by_key(|error| error.position);
        Err(QueryError::Invalid(errors))
    }

    fn add_filter(&mut self, resource: &Resource, position: usize, param: &str, value: &str) {
        let Some((field, operator)) = filters::lookup(resource, param) else {
            return;
        };
        match filters::compile_filter(self.query.backend, field, operator, value, &mut self.query.params) {
            Ok(Some(filter)) => {
                self.query.conditions.push(filter.condition);
                if let FieldKind::ForeignKey { table } = field.kind {
                    self.foreign_key_checks.push(ForeignKeyCheck { param: param.to_string(), table, ids: filter.referenced_ids, position });
                }
            }
            Ok(None) => {}
            Err(message) => self.errors.push(ParamError::new(position, param, message)),
        }
    }

    fn add_search(&mut self, resource: &Resource, position: usize, value: &str) {
        if value.contains('\0') {
            self.errors.push(ParamError::new(position, "_search", NULL_CHARACTERS.to_string()));
            return;
        }
        let terms = split_terms(value);
        if terms.len() > MAX_SEARCH_TERMS || terms.iter().any(|term| term.chars().count() > MAX_SEARCH_TERM_LENGTH) {
            let message =
                format!("Ensure the search has at most {MAX_SEARCH_TERMS} terms of at most {MAX_SEARCH_TERM_LENGTH} characters each.");
            self.errors.push(ParamError::new(position, "_search", message));
            return;
        }
        let backend = self.query.backend;
        if let Some(condition) = search::search_condition(backend, resource.search_fields, &terms, &mut self.query.params) {
            self.query.conditions.push(condition);
        }
    }
}

/// The request's parameters, each with its last value and the position of its first appearance.
struct RequestParams<'a> {
    entries: Vec<(usize, &'a str, &'a str)>,
}

impl<'a> RequestParams<'a> {
    fn new(pairs: &'a [(String, String)]) -> RequestParams<'a> {
        let mut entries: Vec<(usize, &str, &str)> = Vec::new();
        for (key, value) in pairs {
            match entries.iter_mut().find(|(_, seen, _)| *seen == key.as_str()) {
                Some(entry) => entry.2 = value.as_str(),
                None => entries.push((entries.len(), key.as_str(), value.as_str())),
            }
        }
        RequestParams { entries }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.get_with_position(key).map(|(_, value)| value)
    }

    fn get_with_position(&self, key: &str) -> Option<(usize, &'a str)> {
        self.entries.iter().find(|(_, seen, _)| *seen == key).map(|(position, _, value)| (*position, *value))
    }

    /// Parameters that may be filters: those not starting with `_`.
    fn filters(&self) -> impl Iterator<Item = (usize, &'a str, &'a str)> + '_ {
        self.entries.iter().copied().filter(|(_, key, _)| !key.starts_with('_'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: [Field; 2] =
        [Field::new("id", "t.id", FieldKind::Integer), Field::new("team", "t.team_id", FieldKind::ForeignKey { table: "users_team" })];
    static SEARCH: [SearchField; 1] = [SearchField::Column("t.name")];
    static KEYS: [OrderKey; 1] = [OrderKey::new("id", "t.id")];
    static THINGS: Resource = Resource {
        from: "things t",
        id_column: "t.id",
        fields: &FIELDS,
        search_fields: &SEARCH,
        order_keys: &KEYS,
        default_order: &["id"],
    };

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn parse_combines_filters_search_and_scope() {
        let request = pairs(&[("id__gt", "1"), ("_search", "ab"), ("bogus", "1"), ("_limit", "5"), ("_offset", "10")]);
        let parsed = ListQuery::parse(&THINGS, &request, Backend::Sqlite);
        assert!(parsed.errors().is_empty());
        let mut query = parsed.query().clone();
        query.add_condition(|params| format!("t.owner = {}", params.bind(9)));
        assert_eq!(query.where_clause(), "WHERE (t.id > $1) AND ((t.name GLOB $2)) AND (t.owner = $3)");
        assert_eq!(query.params().values(), [Value::Int(1), Value::Text("*[aA][bB]*".into()), Value::Int(9)]);
        assert_eq!(query.pagination, Pagination { limit: 5, offset: 10 });
        assert_eq!(query.order_by(), "t.id ASC NULLS LAST");
    }

    #[test]
    fn last_value_of_a_repeated_key_counts() {
        let request = pairs(&[("id", "x"), ("_limit", "3"), ("id", "2"), ("_limit", "4")]);
        let parsed = ListQuery::parse(&THINGS, &request, Backend::Sqlite);
        assert!(parsed.errors().is_empty());
        assert_eq!(parsed.query().params().values(), [Value::Int(2)]);
        assert_eq!(parsed.query().pagination.limit, 4);
    }

    #[test]
    fn errors_and_checks_are_collected() {
        let request = pairs(&[("team", "4"), ("id", "x"), ("_search", "a\0"), ("team__in", "y")]);
        let parsed = ListQuery::parse(&THINGS, &request, Backend::Sqlite);
        let reported: Vec<(&str, &str)> = parsed.errors().iter().map(|error| (error.param.as_str(), error.message.as_str())).collect();
        assert_eq!(
            reported,
            [
                ("id", "Enter a number."),
                ("_search", "Null characters are not allowed."),
                ("team__in", "Select a valid choice. That choice is not one of the available choices."),
            ]
        );
        assert_eq!(parsed.foreign_key_checks().len(), 1);
        assert_eq!(parsed.foreign_key_checks()[0].ids, [4]);
    }
}
