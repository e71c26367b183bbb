//! Field filters: a parameter `<field>` or `<field>__<operator>` becomes one SQL condition.
//!
//! Values are parsed completely before any is bound, so a rejected filter binds nothing. The
//! negated operators (`not_eq`, `not_in`, `not_contains`, ...) follow Django's `exclude()`: a row
//! whose column is NULL is kept.

use super::dialect::{self, DatePart};
use super::error::NULL_CHARACTERS;
use super::parse;
use super::resource::{Field, FieldKind, Resource};
use super::values::{Params, Value};
use crate::Backend;

/// A comparison that a filter parameter applies to its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Exact,
    NotEq,
    In,
    NotIn,
    IsNull,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    /// Equality of a date or time component, such as `created__year=2024`.
    Part(DatePart),
}

impl Operator {
    /// Maps a parameter-name suffix, such as `not_in`, to its operator.
    fn from_suffix(suffix: &str) -> Option<Operator> {
        let operator = match suffix {
            "not_eq" => Operator::NotEq,
            "in" => Operator::In,
            "not_in" => Operator::NotIn,
            "isnull" => Operator::IsNull,
            "lt" => Operator::Lt,
            "lte" => Operator::Lte,
            "gt" => Operator::Gt,
            "gte" => Operator::Gte,
            "contains" => Operator::Contains,
            "not_contains" => Operator::NotContains,
            "startswith" => Operator::StartsWith,
            "not_startswith" => Operator::NotStartsWith,
            "endswith" => Operator::EndsWith,
            "not_endswith" => Operator::NotEndsWith,
            "year" => Operator::Part(DatePart::Year),
            "month" => Operator::Part(DatePart::Month),
            "day" => Operator::Part(DatePart::Day),
            "week" => Operator::Part(DatePart::Week),
            "week_day" => Operator::Part(DatePart::WeekDay),
            "hour" => Operator::Part(DatePart::Hour),
            "minute" => Operator::Part(DatePart::Minute),
            "second" => Operator::Part(DatePart::Second),
            _ => return None,
        };
        Some(operator)
    }

    fn is_comparison(self) -> bool {
        matches!(self, Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte)
    }

    fn is_text_match(self) -> bool {
        matches!(
            self,
            Operator::Contains
                | Operator::NotContains
                | Operator::StartsWith
                | Operator::NotStartsWith
                | Operator::EndsWith
                | Operator::NotEndsWith
        )
    }

    fn is_negated(self) -> bool {
        matches!(self, Operator::NotEq | Operator::NotIn | Operator::NotContains | Operator::NotStartsWith | Operator::NotEndsWith)
    }
}

impl FieldKind {
    /// Returns whether a field of this kind accepts `operator`. Every kind accepts `exact`, `not_eq`,
    /// `in`, `not_in` and `isnull`.
    pub fn supports(self, operator: Operator) -> bool {
        let is_date = matches!(self, FieldKind::Date | FieldKind::DateTime);
        match operator {
            Operator::Exact | Operator::NotEq | Operator::In | Operator::NotIn | Operator::IsNull => true,
            comparison if comparison.is_comparison() => is_date || matches!(self, FieldKind::Integer | FieldKind::Decimal),
            text_match if text_match.is_text_match() => matches!(self, FieldKind::Text | FieldKind::Choice(_)),
            Operator::Part(DatePart::Hour | DatePart::Minute | DatePart::Second) => self == FieldKind::DateTime,
            Operator::Part(_) => is_date,
            _ => false,
        }
    }
}

/// Finds the field and operator a parameter name selects, or `None` for an unknown field, an unknown
/// operator or an operator the field's kind lacks. The longest matching field name wins.
pub fn lookup<'a>(resource: &'a Resource, param: &str) -> Option<(&'a Field, Operator)> {
    let mut best: Option<(&Field, Operator)> = None;
    for field in resource.fields {
        let operator = if param == field.name {
            Operator::Exact
        } else {
            match param.strip_prefix(field.name).and_then(|rest| rest.strip_prefix("__")) {
                Some(suffix) => match Operator::from_suffix(suffix) {
                    Some(operator) => operator,
                    None => continue,
                },
                None => continue,
            }
        };
        if field.kind.supports(operator) && best.is_none_or(|(chosen, _)| field.name.len() > chosen.name.len()) {
            best = Some((field, operator));
        }
    }
    best
}

/// A compiled filter: its condition and, for a foreign key, the ids that must exist.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterSql {
    pub condition: String,
    pub referenced_ids: Vec<i64>,
}

/// Compiles one filter. `Ok(None)` means the filter is ignored (empty value, unparsable
/// boolean); `Err` carries the message for the parameter.
pub fn compile_filter(
    backend: Backend,
    field: &Field,
    operator: Operator,
    raw: &str,
    params: &mut Params,
) -> Result<Option<FilterSql>, String> {
    let column = field.column;
    let condition = match operator {
        Operator::IsNull => parse::parse_bool(raw).map(|is_null| null_test(column, is_null)),
        Operator::In | Operator::NotIn => return compile_in(field, operator, raw, params),
        Operator::Part(part) => parse::parse_integer(raw)?.map(|number| {
            let extracted = dialect::date_part(backend, column, field.kind == FieldKind::DateTime, part);
            format!("{extracted} = {}", params.bind(number))
        }),
        text_match if text_match.is_text_match() => {
            parse::parse_text(raw)?.map(|text| text_match_sql(backend, column, operator, &params.bind(text)))
        }
        _ => {
            let Some(value) = parse_single(field.kind, operator, raw)? else {
                return Ok(None);
            };
            let referenced_ids = foreign_key_ids(field.kind, std::slice::from_ref(&value));
            let condition = format!("{column} {} {}", comparison_symbol(operator), params.bind(value));
            return Ok(Some(FilterSql { condition: negate_if(operator, column, condition), referenced_ids }));
        }
    };
    Ok(condition.map(|condition| FilterSql { condition: negate_if(operator, column, condition), referenced_ids: Vec::new() }))
}

/// Most values an `in` or `not_in` filter accepts, far below both backends' placeholder limits.
const MAX_IN_VALUES: usize = 1000;

fn compile_in(field: &Field, operator: Operator, raw: &str, params: &mut Params) -> Result<Option<FilterSql>, String> {
    // An empty value is no filter, but `1,,2` or `,` are lists whose empty elements mean NULL,
    // which Django drops from `IN`. Text elements stay as empty strings.
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.split(',').count() > MAX_IN_VALUES {
        return Err(format!("Ensure this list has at most {MAX_IN_VALUES} values."));
    }
    let mut values = Vec::new();
    for element in raw.split(',') {
        if let Some(value) = parse_element(field.kind, element)? {
            values.push(value);
        }
    }
    let referenced_ids = foreign_key_ids(field.kind, &values);
    let condition = if values.is_empty() {
        // `col IN ()` matches no row, so `in` matches nothing and `not_in` everything.
        match operator {
            Operator::In => "1 = 0".to_string(),
            _ => return Ok(None),
        }
    } else {
        let placeholders: Vec<String> = values.into_iter().map(|value| params.bind(value)).collect();
        negate_if(operator, field.column, format!("{} IN ({})", field.column, placeholders.join(", ")))
    };
    Ok(Some(FilterSql { condition, referenced_ids }))
}

/// Parses the value of `exact`, `not_eq` or a comparison.
fn parse_single(kind: FieldKind, operator: Operator, raw: &str) -> Result<Option<Value>, String> {
    match kind {
        FieldKind::Choice(codes) if matches!(operator, Operator::Exact | Operator::NotEq) => {
            Ok(parse::parse_choice(raw, codes)?.map(Value::Text))
        }
        FieldKind::Text | FieldKind::Choice(_) => Ok(parse::parse_text(raw)?.map(Value::Text)),
        _ => parse_element(kind, raw),
    }
}

/// Parses one value of its kind, or one element of an `in` list.
fn parse_element(kind: FieldKind, raw: &str) -> Result<Option<Value>, String> {
    let value = match kind {
        FieldKind::Integer => parse::parse_integer(raw)?.map(Value::Int),
        FieldKind::Decimal => parse::parse_decimal(raw)?.map(Value::Decimal),
        FieldKind::Text | FieldKind::Choice(_) => Some(Value::Text(text_element(raw)?)),
        FieldKind::Date => parse::parse_date(raw)?.map(Value::Date),
        FieldKind::DateTime => parse::parse_datetime(raw)?.map(Value::DateTime),
        FieldKind::Boolean => parse::parse_bool(raw).map(Value::Bool),
        FieldKind::ForeignKey { .. } => parse::parse_foreign_key(raw)?.map(Value::Int),
    };
    Ok(value)
}

/// Trims a text element and rejects NUL characters. The result may be empty, because only
/// `in` lists reach this with an empty text.
fn text_element(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.contains('\0') {
        return Err(NULL_CHARACTERS.to_string());
    }
    Ok(text.to_string())
}

fn foreign_key_ids(kind: FieldKind, values: &[Value]) -> Vec<i64> {
    if !matches!(kind, FieldKind::ForeignKey { .. }) {
        return Vec::new();
    }
    values.iter().filter_map(|value| if let Value::Int(id) = value { Some(*id) } else { None }).collect()
}

fn comparison_symbol(operator: Operator) -> &'static str {
    match operator {
        Operator::Lt => "<",
        Operator::Lte => "<=",
        Operator::Gt => ">",
        Operator::Gte => ">=",
        _ => "=",
    }
}

fn text_match_sql(backend: Backend, column: &str, operator: Operator, text: &str) -> String {
    match operator {
        Operator::Contains | Operator::NotContains => dialect::contains(backend, column, text),
        Operator::StartsWith | Operator::NotStartsWith => dialect::starts_with(column, text),
        _ => dialect::ends_with(backend, column, text),
    }
}

fn null_test(column: &str, is_null: bool) -> String {
    if is_null {
        format!("{column} IS NULL")
    } else {
        format!("{column} IS NOT NULL")
    }
}

/// Wraps a condition of a negated operator as Django's `exclude()` does, so NULL rows pass.
fn negate_if(operator: Operator, column: &str, condition: String) -> String {
    if operator.is_negated() {
        format!("NOT ({condition} AND {column} IS NOT NULL)")
    } else {
        condition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: [Field; 6] = [
        Field::new("id", "t.id", FieldKind::Integer),
        Field::new("name", "t.name", FieldKind::Text),
        Field::new("name__raw", "t.raw", FieldKind::Text),
        Field::new("role", "t.role", FieldKind::Choice(&["pi", "ad"])),
        Field::new("team", "t.team_id", FieldKind::ForeignKey { table: "users_team" }),
        Field::new("day", "t.day", FieldKind::Date),
    ];
    static THINGS: Resource =
        Resource { from: "things t", id_column: "t.id", fields: &FIELDS, search_fields: &[], order_keys: &[], default_order: &[] };

    fn compile(param: &str, raw: &str) -> (Result<Option<FilterSql>, String>, Params) {
        let mut params = Params::default();
        let (field, operator) = lookup(&THINGS, param).expect("known filter");
        (compile_filter(Backend::Sqlite, field, operator, raw, &mut params), params)
    }

    fn condition(param: &str, raw: &str) -> String {
        compile(param, raw).0.expect("valid value").expect("filter applies").condition
    }

    #[test]
    fn lookup_operators_by_kind() {
        assert_eq!(lookup(&THINGS, "id").map(|(_, operator)| operator), Some(Operator::Exact));
        assert_eq!(lookup(&THINGS, "id__gte").map(|(_, operator)| operator), Some(Operator::Gte));
        assert!(lookup(&THINGS, "id__contains").is_none());
        assert!(lookup(&THINGS, "team__lt").is_none());
        assert!(lookup(&THINGS, "day__hour").is_none());
        assert!(lookup(&THINGS, "day__year__gte").is_none());
        assert!(lookup(&THINGS, "id__exact").is_none());
        assert!(lookup(&THINGS, "unknown").is_none());
        assert_eq!(lookup(&THINGS, "name__raw").map(|(field, _)| field.column), Some("t.raw"));
        assert_eq!(lookup(&THINGS, "name__raw__in").map(|(field, _)| field.column), Some("t.raw"));
    }

    #[test]
    fn negations_keep_nulls() {
        assert_eq!(condition("id__not_eq", "3"), "NOT (t.id = $1 AND t.id IS NOT NULL)");
        assert_eq!(condition("name__not_contains", "x"), "NOT (instr(t.name, $1) > 0 AND t.name IS NOT NULL)");
        assert_eq!(condition("id__not_in", "1,2"), "NOT (t.id IN ($1, $2) AND t.id IS NOT NULL)");
    }

    #[test]
    fn in_lists() {
        let (result, params) = compile("id__in", "1, ,2");
        assert_eq!(result.unwrap().unwrap().condition, "t.id IN ($1, $2)");
        assert_eq!(params.values(), [Value::Int(1), Value::Int(2)]);
        assert_eq!(condition("id__in", ","), "1 = 0");
        assert_eq!(compile("id__not_in", ",").0, Ok(None));
        assert_eq!(compile("id__in", "").0, Ok(None));
        let (_, params) = compile("name__in", "a, ,b");
        assert_eq!(params.values(), [Value::Text("a".into()), Value::Text("".into()), Value::Text("b".into())]);
    }

    #[test]
    fn ignored_and_rejected_values() {
        assert_eq!(compile("name", " ").0, Ok(None));
        assert_eq!(compile("id__isnull", "maybe").0, Ok(None));
        assert_eq!(compile("id", "x").0, Err("Enter a number.".to_string()));
        assert_eq!(compile("id__in", "1,x").0, Err("Enter a number.".to_string()));
        assert_eq!(compile("day__week", "w").0, Err("Enter a number.".to_string()));
        assert_eq!(compile("role", "zz").0, Err("Select a valid choice. zz is not one of the available choices.".to_string()));
        assert_eq!(condition("role__in", "zz"), "t.role IN ($1)");
        let (result, params) = compile("id__in", "1,x");
        assert!(result.is_err());
        assert!(params.is_empty());
    }

    #[test]
    fn foreign_keys_report_ids() {
        let filter = compile("team__in", "3,4").0.unwrap().unwrap();
        assert_eq!(filter.referenced_ids, [3, 4]);
        let filter = compile("team__not_eq", "5").0.unwrap().unwrap();
        assert_eq!(filter.referenced_ids, [5]);
        assert!(compile("team__isnull", "1").0.unwrap().unwrap().referenced_ids.is_empty());
    }
}
