//! List descriptions of `/research/grants/` and `/research/publications/`: what they filter,
//! search and order by.

use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};

static GRANT_FIELDS: [Field; 10] = [
    Field::new("id", "g.id", FieldKind::Integer),
    Field::new("title", "g.title", FieldKind::Text),
    Field::new("agency", "g.agency", FieldKind::Text),
    Field::new("pi", "g.pi", FieldKind::Text),
    // Amounts are stored in cents. Dividing by 100.0 gives an exact NUMERIC on PostgreSQL.
    // On SQLite it gives the double nearest to the amount, which is the double that the
    // filter value converts to, so equality works there too.
    Field::new("amount", "(CAST(g.amount_cents AS NUMERIC) / 100.0)", FieldKind::Decimal),
    Field::new("grant_number", "g.grant_number", FieldKind::Text),
    Field::new("start_date", "g.start_date", FieldKind::Date),
    Field::new("end_date", "g.end_date", FieldKind::Date),
    Field::new("description", "g.description", FieldKind::Text),
    Field::new("team", "g.team_id", FieldKind::ForeignKey { table: "users_team" }),
];

static GRANT_SEARCH: [SearchField; 4] =
    [SearchField::Column("g.title"), SearchField::Column("g.agency"), SearchField::Column("gt.name"), SearchField::Column("g.pi")];

static GRANT_ORDER: [OrderKey; 10] = [
    OrderKey::new("id", "g.id"),
    OrderKey::text("title", "g.title"),
    OrderKey::text("agency", "g.agency"),
    OrderKey::text("pi", "g.pi"),
    OrderKey::new("amount", "g.amount_cents"),
    OrderKey::text("grant_number", "g.grant_number"),
    OrderKey::new("start_date", "g.start_date"),
    OrderKey::new("end_date", "g.end_date"),
    OrderKey::text("description", "g.description"),
    OrderKey::new("team", "g.team_id"),
];

/// `/research/grants/`, with the owning team joined as `gt`.
pub static GRANTS: Resource = Resource {
    from: "research_products_grant g JOIN users_team gt ON gt.id = g.team_id",
    id_column: "g.id",
    fields: &GRANT_FIELDS,
    search_fields: &GRANT_SEARCH,
    order_keys: &GRANT_ORDER,
    default_order: &["id"],
};

static PUBLICATION_FIELDS: [Field; 10] = [
    Field::new("id", "p.id", FieldKind::Integer),
    Field::new("title", "p.title", FieldKind::Text),
    Field::new("abstract", "p.abstract", FieldKind::Text),
    Field::new("published", "p.published", FieldKind::Date),
    Field::new("submitted", "p.submitted", FieldKind::Date),
    Field::new("journal", "p.journal", FieldKind::Text),
    Field::new("doi", "p.doi", FieldKind::Text),
    Field::new("volume", "p.volume", FieldKind::Text),
    Field::new("issue", "p.issue", FieldKind::Text),
    Field::new("team", "p.team_id", FieldKind::ForeignKey { table: "users_team" }),
];

static PUBLICATION_SEARCH: [SearchField; 5] = [
    SearchField::Column("p.title"),
    SearchField::Column("p.abstract"),
    SearchField::Column("p.journal"),
    SearchField::Column("p.doi"),
    SearchField::Column("pt.name"),
];

static PUBLICATION_ORDER: [OrderKey; 10] = [
    OrderKey::new("id", "p.id"),
    OrderKey::text("title", "p.title"),
    OrderKey::text("abstract", "p.abstract"),
    OrderKey::new("published", "p.published"),
    OrderKey::new("submitted", "p.submitted"),
    OrderKey::text("journal", "p.journal"),
    OrderKey::text("doi", "p.doi"),
    OrderKey::text("volume", "p.volume"),
    OrderKey::text("issue", "p.issue"),
    OrderKey::new("team", "p.team_id"),
];

/// `/research/publications/`, with the owning team joined as `pt`.
pub static PUBLICATIONS: Resource = Resource {
    from: "research_products_publication p JOIN users_team pt ON pt.id = p.team_id",
    id_column: "p.id",
    fields: &PUBLICATION_FIELDS,
    search_fields: &PUBLICATION_SEARCH,
    order_keys: &PUBLICATION_ORDER,
    default_order: &["id"],
};
