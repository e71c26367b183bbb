//! Generates realistic demo rows: staff, teams with owners and members, clusters, grants,
//! publications, allocation requests in every status with allocations, reviews, assignees
//! and comments.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::insert::SeedValue::{self, *};

/// How much to generate; the defaults match a mid-size center.
#[derive(Clone, Debug)]
pub struct SeedScale {
    pub staff: usize,
    pub teams: usize,
    pub clusters: usize,
    pub members_per_team: (usize, usize),
    pub grants_per_team: (usize, usize),
    pub publications_per_team: (usize, usize),
    pub requests_per_team: (usize, usize),
    pub clusters_per_request: (usize, usize),
    pub comments_per_request: (usize, usize),
    pub reviewers_per_request: (usize, usize),
    /// Random seed, so a scale always produces the same data.
    pub random_seed: u64,
}

impl Default for SeedScale {
    fn default() -> Self {
        SeedScale {
            staff: 100,
            teams: 200,
            clusters: 4,
            members_per_team: (3, 5),
            grants_per_team: (4, 8),
            publications_per_team: (4, 8),
            requests_per_team: (4, 8),
            clusters_per_request: (1, 5),
            comments_per_request: (0, 4),
            reviewers_per_request: (1, 2),
            random_seed: 42,
        }
    }
}

/// Rows of one table: its columns and values.
pub struct TableRows {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<SeedValue>>,
}

/// Generated rows for every seeded table, in insertion order.
#[derive(Default)]
pub struct SeedData {
    tables: Vec<(&'static str, TableRows)>,
}

impl SeedData {
    /// `(table, columns, rows)` in insertion order.
    pub fn tables(&self) -> impl Iterator<Item = (&'static str, &'static [&'static str], &[Vec<SeedValue>])> {
        self.tables.iter().map(|(table, rows)| (*table, rows.columns, rows.rows.as_slice()))
    }

    /// Rows per table.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.tables.iter().map(|(table, rows)| (*table, rows.rows.len())).collect()
    }

    fn push(&mut self, table: &'static str, columns: &'static [&'static str], rows: Vec<Vec<SeedValue>>) {
        self.tables.push((table, TableRows { columns, rows }));
    }
}

const FIRST_NAMES: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "John",
    "Margaret",
    "Édouard",
    "Zoë",
    "Søren",
    "Mei",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman", "Backus", "Hamilton",
    "Müller", "O'Neil", "García", "Nakamura",
];
const DEPARTMENTS: [&str; 6] = ["Physics", "Chemistry", "Biology", "Computer Science", "Earth Sciences", "Mechanical Engineering"];
const AGENCIES: [&str; 6] = ["NSF", "NIH", "DOE", "NASA", "DOD", "Moore Foundation"];
const JOURNALS: [&str; 6] =
    ["Nature", "Science", "Physical Review Letters", "Journal of Chemical Physics", "Bioinformatics", "SIAM Review"];
const TOPICS: [&str; 10] = [
    "protein folding",
    "climate ensembles",
    "lattice QCD",
    "genome assembly",
    "turbulence",
    "materials discovery",
    "neural network training",
    "seismic imaging",
    "galaxy formation",
    "drug screening",
];

/// Ids handed out per table, continuing after existing rows.
struct Ids(BTreeMap<&'static str, i64>);

impl Ids {
    fn next(&mut self, table: &'static str) -> i64 {
        let id = self.0.entry(table).or_insert(0);
        *id += 1;
        *id
    }
}

fn between(rng: &mut StdRng, (low, high): (usize, usize)) -> usize {
    rng.gen_range(low..=high.max(low))
}

/// Generates demo rows. `password_hash` is stored for every user (all sign in with the same
/// password); `id_bases` are the current largest ids per table; `now` anchors every date.
pub fn generate(scale: &SeedScale, password_hash: &str, id_bases: &BTreeMap<&'static str, i64>, now: DateTime<Utc>) -> SeedData {
    let mut rng = StdRng::seed_from_u64(scale.random_seed);
    let mut ids = Ids(id_bases.clone());
    let mut data = SeedData::default();
    let today = now.date_naive();

    let mut users = Vec::new();
    let mut staff_ids = Vec::new();
    let (mut staff_number, mut member_number) = (0usize, 0usize);
    let mut new_user = |rng: &mut StdRng, ids: &mut Ids, staff: bool| {
        let id = ids.next("users_user");
        let username = if staff {
            staff_number += 1;
            format!("staff{staff_number}")
        } else {
            member_number += 1;
            format!("user{member_number}")
        };
        let joined = now - Duration::days(rng.gen_range(0..5 * 365)) - Duration::seconds(rng.gen_range(0..86_400));
        users.push(vec![
            Int(id),
            Text(password_hash.to_string()),
            OptionalDateTime(None),
            Bool(false),
            Text(username.clone()),
            OptionalText(FIRST_NAMES.choose(rng).map(|name| name.to_string())),
            OptionalText(LAST_NAMES.choose(rng).map(|name| name.to_string())),
            OptionalText(Some(format!("{username}@example.com"))),
            OptionalText(DEPARTMENTS.choose(rng).map(|name| name.to_string())),
            OptionalText(Some(if staff { "Research Computing Staff".to_string() } else { "Researcher".to_string() })),
            Bool(true),
            Bool(staff),
            Bool(false),
            DateTime(joined),
        ]);
        id
    };
    for _ in 0..scale.staff {
        let id = new_user(&mut rng, &mut ids, true);
        staff_ids.push(id);
    }

    let mut teams = Vec::new();
    let mut memberships = Vec::new();
    let mut team_members: Vec<(i64, Vec<(i64, &'static str)>)> = Vec::new();
    let team_base = id_bases.get("users_team").copied().unwrap_or(0);
    for index in 0..scale.teams {
        let id = ids.next("users_team");
        let name = format!("Team {}", team_base as usize + index + 1);
        let slug = crate::teams::slugify(&name);
        teams.push(vec![Int(id), Text(name), Text(slug), Bool(true)]);
        let mut members = Vec::new();
        for position in 0..between(&mut rng, scale.members_per_team) {
            let user = new_user(&mut rng, &mut ids, false);
            let role = if position == 0 { "OW" } else { *["AD", "MB", "MB"].choose(&mut rng).unwrap_or(&"MB") };
            memberships.push(vec![Int(ids.next("users_membership")), Text(role.to_string()), Int(user), Int(id)]);
            members.push((user, role));
        }
        team_members.push((id, members));
    }

    let mut clusters = Vec::new();
    let mut cluster_ids = Vec::new();
    let cluster_base = id_bases.get("allocations_cluster").copied().unwrap_or(0);
    for index in 0..scale.clusters {
        let id = ids.next("allocations_cluster");
        cluster_ids.push(id);
        let number = cluster_base as usize + index + 1;
        clusters.push(vec![
            Int(id),
            Text(format!("Cluster {number}")),
            OptionalText(Some(format!("Compute cluster number {number}"))),
            Bool(true),
            Text("OP".into()),
        ]);
    }

    let mut grants = Vec::new();
    let mut publications = Vec::new();
    let mut requests = Vec::new();
    let mut assignees = Vec::new();
    let mut request_grants = Vec::new();
    let mut request_publications = Vec::new();
    let mut allocations = Vec::new();
    let mut reviews = Vec::new();
    let mut comments = Vec::new();
    let mut grant_number = id_bases.get("research_products_grant").copied().unwrap_or(0);

    for (team_id, members) in &team_members {
        let team_id = *team_id;
        let mut team_grants = Vec::new();
        for _ in 0..between(&mut rng, scale.grants_per_team) {
            let id = ids.next("research_products_grant");
            grant_number += 1;
            team_grants.push(id);
            let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(today) + Duration::days(rng.gen_range(0..2500));
            let end = start + Duration::days(365 * rng.gen_range(1..=3));
            let topic = TOPICS.choose(&mut rng).unwrap_or(&"research");
            grants.push(vec![
                Int(id),
                Text(format!("Advancing {topic} at scale")),
                Text(AGENCIES.choose(&mut rng).unwrap_or(&"NSF").to_string()),
                OptionalText(FIRST_NAMES.choose(&mut rng).map(|name| format!("Dr. {name}"))),
                Int(rng.gen_range(100_000..100_000_000)),
                OptionalText(Some(format!("GRANT-{grant_number:05}"))),
                Date(start),
                OptionalDate(Some(end)),
                OptionalText(Some(format!("Funding for work on {topic}."))),
                Int(team_id),
            ]);
        }

        let mut team_publications = Vec::new();
        for _ in 0..between(&mut rng, scale.publications_per_team) {
            let id = ids.next("research_products_publication");
            team_publications.push(id);
            let topic = TOPICS.choose(&mut rng).unwrap_or(&"research");
            let draft = rng.gen_bool(0.2);
            let submitted = (!draft).then(|| today - Duration::days(rng.gen_range(60..1825)));
            let published = submitted.filter(|_| rng.gen_bool(0.85)).map(|date| date + Duration::days(rng.gen_range(20..60)));
            publications.push(vec![
                Int(id),
                Text(format!("New results in {topic}")),
                OptionalText(Some(format!("We report progress on {topic} using the center's clusters."))),
                OptionalDate(published),
                OptionalDate(submitted),
                OptionalText(JOURNALS.choose(&mut rng).map(|name| name.to_string())),
                OptionalText(Some(format!("10.5555/keystone.{id}"))),
                OptionalText(published.map(|_| rng.gen_range(1..80).to_string())),
                OptionalText(published.map(|_| rng.gen_range(1..12).to_string())),
                Int(team_id),
            ]);
        }

        let submitters: Vec<i64> = members.iter().filter(|(_, role)| *role != "MB").map(|(user, _)| *user).collect();
        let authors: Vec<i64> = members.iter().map(|(user, _)| *user).collect();
        for _ in 0..between(&mut rng, scale.requests_per_team) {
            let id = ids.next("allocations_allocationrequest");
            let submitted = now - Duration::days(rng.gen_range(0..5 * 365)) - Duration::seconds(rng.gen_range(0..86_400));
            let recent = now - submitted < Duration::days(14);
            let status = if recent {
                *[("PD", 6), ("AP", 3), ("DC", 1)].choose_weighted(&mut rng, |(_, weight)| *weight).map(|(code, _)| code).unwrap_or(&"PD")
            } else if rng.gen_bool(0.05) {
                "CR"
            } else {
                *[("AP", 9), ("DC", 1)].choose_weighted(&mut rng, |(_, weight)| *weight).map(|(code, _)| code).unwrap_or(&"AP")
            };
            let approved = status == "AP";
            let active = approved.then(|| submitted.date_naive() + Duration::days(rng.gen_range(1..=10)));
            let expire = active.map(|date| date + Duration::days(365));
            let submitter = submitters.choose(&mut rng).copied().unwrap_or(authors[0]);
            let topic = TOPICS.choose(&mut rng).unwrap_or(&"research");
            requests.push(vec![
                Int(id),
                Text(format!("Compute time for {topic}")),
                Text(format!("We request service units to continue our work on {topic}.")),
                DateTime(submitted),
                OptionalDate(active),
                OptionalDate(expire),
                Text(status.to_string()),
                Int(submitter),
                Int(team_id),
            ]);

            let linked = between(&mut rng, (1, 2));
            for grant in team_grants.choose_multiple(&mut rng, linked) {
                request_grants.push(vec![Int(ids.next("allocations_allocationrequest_grants")), Int(id), Int(*grant)]);
            }
            let linked = between(&mut rng, (1, 2));
            for publication in team_publications.choose_multiple(&mut rng, linked) {
                request_publications.push(vec![Int(ids.next("allocations_allocationrequest_publications")), Int(id), Int(*publication)]);
            }

            let count = between(&mut rng, scale.clusters_per_request).min(cluster_ids.len());
            let expired = expire.is_some_and(|date| date <= today);
            for cluster in cluster_ids.choose_multiple(&mut rng, count) {
                let requested: i64 = rng.gen_range(1_000..=100_000);
                let awarded = approved.then(|| rng.gen_range(0..=requested / 100) * 100);
                let final_amount = awarded.filter(|_| expired).map(|amount| rng.gen_range(0..=amount / 100) * 100);
                allocations.push(vec![
                    Int(ids.next("allocations_resourceallocation")),
                    Int(requested),
                    OptionalInt(awarded),
                    OptionalInt(final_amount),
                    Int(*cluster),
                    Int(id),
                ]);
            }

            let reviewer_count = between(&mut rng, scale.reviewers_per_request);
            let reviewers: Vec<i64> = staff_ids.choose_multiple(&mut rng, reviewer_count).copied().collect();
            for reviewer in &reviewers {
                assignees.push(vec![Int(ids.next("allocations_allocationrequest_assignees")), Int(id), Int(*reviewer)]);
                if status != "PD" {
                    let reviewed = submitted + Duration::hours(rng.gen_range(1..240));
                    reviews.push(vec![
                        Int(ids.next("allocations_allocationreview")),
                        Text(status.to_string()),
                        DateTime(reviewed.min(now)),
                        Int(id),
                        Int(*reviewer),
                    ]);
                }
            }

            for _ in 0..between(&mut rng, scale.comments_per_request) {
                let by_staff = rng.gen_bool(0.3) && !staff_ids.is_empty();
                let author = if by_staff {
                    *staff_ids.choose(&mut rng).unwrap_or(&authors[0])
                } else {
                    *authors.choose(&mut rng).unwrap_or(&authors[0])
                };
                let private = by_staff && rng.gen_bool(0.5);
                let created = submitted + Duration::hours(rng.gen_range(1..500));
                comments.push(vec![
                    Int(ids.next("allocations_comment")),
                    Text(if private {
                        "Internal note: check the usage history before approving.".into()
                    } else {
                        format!("Progress update on {topic}.")
                    }),
                    DateTime(created.min(now)),
                    Bool(private),
                    Int(author),
                    Int(id),
                ]);
            }
        }
    }

    data.push(
        "users_user",
        &[
            "id",
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "department",
            "role",
            "is_active",
            "is_staff",
            "is_ldap_user",
            "date_joined",
        ],
        users,
    );
    data.push("users_team", &["id", "name", "slug", "is_active"], teams);
    data.push("users_membership", &["id", "role", "user_id", "team_id"], memberships);
    data.push("allocations_cluster", &["id", "name", "description", "enabled", "access_mode"], clusters);
    data.push(
        "research_products_grant",
        &["id", "title", "agency", "pi", "amount_cents", "grant_number", "start_date", "end_date", "description", "team_id"],
        grants,
    );
    data.push(
        "research_products_publication",
        &["id", "title", "abstract", "published", "submitted", "journal", "doi", "volume", "issue", "team_id"],
        publications,
    );
    data.push(
        "allocations_allocationrequest",
        &["id", "title", "description", "submitted", "active", "expire", "status", "submitter_id", "team_id"],
        requests,
    );
    data.push("allocations_allocationrequest_assignees", &["id", "allocationrequest_id", "user_id"], assignees);
    data.push("allocations_allocationrequest_grants", &["id", "allocationrequest_id", "grant_id"], request_grants);
    data.push("allocations_allocationrequest_publications", &["id", "allocationrequest_id", "publication_id"], request_publications);
    data.push("allocations_resourceallocation", &["id", "requested", "awarded", "final", "cluster_id", "request_id"], allocations);
    data.push("allocations_allocationreview", &["id", "status", "submitted", "request_id", "reviewer_id"], reviews);
    data.push("allocations_comment", &["id", "content", "created", "private", "user_id", "request_id"], comments);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scale_matches_a_mid_size_center() {
        let data = generate(&SeedScale::default(), "hash", &BTreeMap::new(), Utc::now());
        let counts = data.counts();
        let within = |table: &str, low: usize, high: usize| {
            let count = counts[table];
            assert!((low..=high).contains(&count), "{table}: {count} not in {low}..={high}");
        };
        within("users_user", 800, 1100);
        within("users_team", 200, 200);
        within("allocations_cluster", 4, 4);
        within("allocations_allocationrequest", 1000, 1400);
        within("allocations_resourceallocation", 2500, 4200);
        within("allocations_allocationreview", 1300, 2200);
        within("allocations_comment", 2000, 2900);
        within("research_products_grant", 1000, 1400);
        within("research_products_publication", 1000, 1400);
    }

    #[test]
    fn same_seed_same_data() {
        let now = Utc::now();
        let first = generate(&SeedScale::default(), "hash", &BTreeMap::new(), now).counts();
        let second = generate(&SeedScale::default(), "hash", &BTreeMap::new(), now).counts();
        assert_eq!(first, second);
    }
}
