//! `keystone createsuperuser` and `keystone createtoken`.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use keystone_config::Settings;
use keystone_storage::audit::AuditContext;
use keystone_storage::password::{hash_password, validate_password};
use keystone_storage::{NewUser, StorageError};

use crate::commands::open_migrated_database;

/// Environment variable holding the password for `createsuperuser --no-input`.
pub const PASSWORD_VARIABLE: &str = "KEYSTONE_SUPERUSER_PASSWORD";

pub async fn create_superuser(settings: Settings, username: Option<String>, email: Option<String>, no_input: bool) -> anyhow::Result<()> {
    let (username, email, password) = if no_input {
        let Some(username) = username.filter(|name| !name.trim().is_empty()) else {
            bail!("--username is required with --no-input");
        };
        let password = std::env::var(PASSWORD_VARIABLE)
            .ok()
            .filter(|password| !password.is_empty())
            .with_context(|| format!("{PASSWORD_VARIABLE} is unset; --no-input reads the new password from it"))?;
        (username, email, password)
    } else {
        ask_details(username, email)?
    };
    validate_username(&username)?;
    let problems = validate_password(&password);
    if !problems.is_empty() {
        bail!("the password was rejected: {}", problems.join(" "));
    }

    let db = open_migrated_database(&settings).await?;
    let encoded = tokio::task::spawn_blocking(move || hash_password(&password)).await?;
    let new = NewUser {
        username: username.clone(),
        password: encoded,
        email: email.filter(|email| !email.is_empty()),
        is_active: true,
        is_staff: true,
        is_superuser: true,
        ..NewUser::default()
    };
    let result = db.create_user(&new, &AuditContext::default()).await;
    db.close().await;
    match result {
        Ok(user) => {
            tracing::info!(user_id = user.id, username = %user.username, "created a superuser");
            println!("Superuser {} created.", user.username);
            Ok(())
        }
        Err(StorageError::Conflict(_)) => bail!("a user named {username} already exists"),
        Err(error) => Err(error.into()),
    }
}

pub async fn create_token(settings: Settings, username: &str) -> anyhow::Result<()> {
    let db = open_migrated_database(&settings).await?;
    let user = db.user_by_username(username).await?.with_context(|| format!("no user named {username}"))?;
    let token = db.token_for_user(user.id).await?;
    db.close().await;
    tracing::info!(user_id = user.id, "issued an API token");
    println!("{token}");
    Ok(())
}

fn validate_username(username: &str) -> anyhow::Result<()> {
    let valid = !username.is_empty()
        && username.chars().count() <= 150
        && username.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '+' | '-'));
    if !valid {
        bail!("invalid username {username:?}: use at most 150 letters, digits and @/./+/-/_ characters");
    }
    Ok(())
}

fn ask_details(username: Option<String>, email: Option<String>) -> anyhow::Result<(String, Option<String>, String)> {
    let username = match username {
        Some(name) => name,
        None => prompt("Username: ")?,
    };
    let email = match email {
        Some(email) => Some(email),
        None => Some(prompt("Email address: ")?),
    };
    let password = rpassword::prompt_password("Password: ").context("failed to read the password")?;
    let again = rpassword::prompt_password("Password (again): ").context("failed to read the password")?;
    if password != again {
        bail!("the two passwords differ");
    }
    Ok((username.trim().to_string(), email, password))
}

fn prompt(label: &str) -> anyhow::Result<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line).context("failed to read from the terminal")?;
    if read == 0 {
        bail!("no input: run with --no-input and --username to create a user without a terminal");
    }
    Ok(line.trim().to_string())
}
