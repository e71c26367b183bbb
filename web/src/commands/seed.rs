//! Demo data for `keystone quickstart --seed`: users and teams with memberships.

use keystone_storage::audit::AuditContext;
use keystone_storage::password::hash_password;
use keystone_storage::{Database, NewUser};
use rand::seq::SliceRandom;
use rand::Rng;

const TEAMS: usize = 20;
const MEMBERS_PER_TEAM: std::ops::RangeInclusive<usize> = 3..=5;
/// Every demo user signs in with this password.
const DEMO_PASSWORD: &str = "password";

const FIRST_NAMES: [&str; 12] = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Barbara", "Dennis", "Frances", "Ken", "Radia", "John", "Margaret"];
const LAST_NAMES: [&str; 12] = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Liskov", "Ritchie", "Allen", "Thompson", "Perlman", "Backus", "Hamilton"];
const DEPARTMENTS: [&str; 5] = ["Physics", "Chemistry", "Biology", "Computer Science", "Earth Sciences"];

/// Creates demo teams, each with an owner and a few members, unless teams already exist.
pub async fn seed(db: &Database) -> anyhow::Result<()> {
    let existing = db.team_count().await?;
    if existing > 0 {
        tracing::info!(teams = existing, "teams already exist; skipping demo data");
        return Ok(());
    }
    // One hash for every demo user keeps seeding fast; each row still holds a valid hash.
    let encoded = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD)).await?;
    let context = AuditContext::default();
    let mut user_number = 0usize;
    for team_number in 1..=TEAMS {
        let team = db.create_team(&format!("Team {team_number}"), true, None, &context).await?;
        let size = rand::thread_rng().gen_range(MEMBERS_PER_TEAM);
        for position in 0..size {
            user_number += 1;
            let user = db.create_user(&demo_user(user_number, &encoded), &context).await?;
            let role = if position == 0 { "OW" } else { *["AD", "MB", "MB"].choose(&mut rand::thread_rng()).unwrap_or(&"MB") };
            db.create_membership(user.id, team.id, role, &context).await?;
        }
    }
    tracing::info!(teams = TEAMS, users = user_number, "created demo data; demo users sign in with the password 'password'");
    Ok(())
}

fn demo_user(number: usize, encoded: &str) -> NewUser {
    let mut rng = rand::thread_rng();
    let username = format!("user{number}");
    NewUser {
        email: Some(format!("{username}@example.com")),
        username,
        password: encoded.to_string(),
        first_name: FIRST_NAMES.choose(&mut rng).map(|name| name.to_string()),
        last_name: LAST_NAMES.choose(&mut rng).map(|name| name.to_string()),
        department: DEPARTMENTS.choose(&mut rng).map(|name| name.to_string()),
        is_active: true,
        ..NewUser::default()
    }
}
