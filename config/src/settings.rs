//! The settings structure and its defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use crate::parse::{ProcessEnv, Rate, Reader, Source};
use crate::SettingsError;

/// Origins trusted for CORS and CSRF when `SECURE_ALLOWED_ORIGINS` is unset.
pub const DEFAULT_ALLOWED_ORIGINS: [&str; 8] = [
    "http://localhost:80",
    "https://localhost:443",
    "http://localhost:4200",
    "http://localhost:8000",
    "http://127.0.0.1:80",
    "https://127.0.0.1:443",
    "http://127.0.0.1:4200",
    "http://127.0.0.1:8000",
];

/// MIME types accepted for attachments, in the order `/config/` lists them.
pub const ALLOWED_FILE_TYPES: [&str; 22] = [
    "application/pdf",
    "application/rtf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/x-latex",
    "application/x-tex",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/plain",
    "text/markdown",
    "text/richtext",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/svg+xml",
    "image/tiff",
    "image/bmp",
];

/// All Keystone settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Folder for state that has no setting of its own (SQLite file, uploads, generated secret
    /// key): `KEYSTONE_DATA_DIR`, by default the working directory.
    pub data_dir: PathBuf,
    pub security: SecuritySettings,
    pub throttle: ThrottleSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub email: EmailSettings,
    pub ldap: LdapSettings,
    pub files: FileSettings,
    pub logging: LogSettings,
    /// `CLUSTER_ENABLE`: coordinate with other nodes through Redis.
    pub cluster_enable: bool,
    /// `KEYSTONE_DEBUG_QUERIES`: report each request's database statement count in the
    /// `X-Keystone-Queries` response header.
    pub debug_queries: bool,
    pub jobs: JobSettings,
}

/// The background job system.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `KEYSTONE_WORKERS`: concurrent job workers on this node.
    pub workers: u64,
    /// `KEYSTONE_JOB_VISIBILITY_SEC`: how long a claimed job stays invisible to other workers
    /// without a renewal; a crashed node's jobs return to the queue after this.
    pub visibility: Duration,
    /// `KEYSTONE_LEADER_TTL_SEC`: lifetime of the scheduler's leader lease without renewal.
    pub leader_ttl: Duration,
    /// `KEYSTONE_SCHEDULES`: per-task schedule overrides, `alias=cron expression` pairs
    /// separated by `;`, where the expression has a seconds field or is `off`.
    pub schedules: BTreeMap<String, String>,
    /// `KEYSTONE_TEST_TASKS`: also register the tasks that exist for tests (sleep, panic).
    pub test_tasks: bool,
}

#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// `SECURE_SECRET_KEY`; when unset, one is generated and kept in the data directory.
    pub secret_key: Option<SecretString>,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub ssl_tokens: bool,
    pub token_domain: Option<String>,
    /// Session lifetime in seconds.
    pub session_age: u64,
    pub ssl_redirect: bool,
    pub hsts_seconds: u64,
    pub hsts_subdomains: bool,
    pub hsts_preload: bool,
}

#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub anon: Rate,
    pub user: Rate,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub postgres_enable: bool,
    pub name: String,
    pub user: String,
    pub password: Option<SecretString>,
    pub host: String,
    pub port: u16,
    /// SQLite file, derived from `DB_NAME` and the data directory.
    pub sqlite_path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub db: u32,
    pub password: Option<SecretString>,
    /// `REDIS_KEY_PREFIX`: prefix of every key Keystone writes, so several deployments or test
    /// runs can share one Redis server.
    pub key_prefix: String,
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub from_address: String,
    pub template_dir: PathBuf,
    pub debug_dir: Option<PathBuf>,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<SecretString>,
    pub use_tls: bool,
}

#[derive(Debug, Clone)]
pub struct LdapSettings {
    pub server_uri: Option<String>,
    pub start_tls: bool,
    pub bind_dn: String,
    pub bind_password: Option<SecretString>,
    pub user_search: String,
    pub user_filter: String,
    pub login_filter: String,
    pub require_cert: bool,
    pub attr_map: BTreeMap<String, String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct FileSettings {
    pub timezone: String,
    pub static_dir: PathBuf,
    pub upload_dir: PathBuf,
    /// Largest attachment, in bytes.
    pub upload_size: u64,
    pub upload_count: u64,
    pub metrics_ports: Vec<u16>,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub app_level: LogLevel,
    pub app_file: PathBuf,
    pub app_retention_bytes: u64,
    pub app_retention_files: u64,
    /// Request-log retention; zero keeps records forever.
    pub request_retention: Duration,
    pub audit_retention: Duration,
    pub task_retention: Duration,
}

/// `LOG_APP_LEVEL`, in the reference's (Python logging) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// The matching `tracing` filter directive.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error | LogLevel::Critical => "error",
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Self::from_source(&ProcessEnv)
    }

    /// Reads the settings from any source of values.
    pub fn from_source(source: &dyn Source) -> Result<Settings, SettingsError> {
        let env = Reader::new(source);
        let data_dir = PathBuf::from(env.optional("KEYSTONE_DATA_DIR").unwrap_or_else(|| ".".to_string()));
        let in_data_dir = |name: &str| data_dir.join(name);

        let security = SecuritySettings {
            secret_key: env.optional("SECURE_SECRET_KEY").map(SecretString::from),
            allowed_hosts: env.list("SECURE_ALLOWED_HOSTS", &["localhost", "127.0.0.1"]),
            allowed_origins: env.list("SECURE_ALLOWED_ORIGINS", &DEFAULT_ALLOWED_ORIGINS),
            ssl_tokens: env.boolean("SECURE_SSL_TOKENS", false)?,
            token_domain: env.optional("SECURE_TOKEN_DOMAIN"),
            session_age: env.integer("SECURE_SESSION_AGE", 1_209_600, 1, 10 * 365 * 86_400)?,
            ssl_redirect: env.boolean("SECURE_SSL_REDIRECT", false)?,
            hsts_seconds: env.integer("SECURE_HSTS_SECONDS", 0, 0, u32::MAX as u64)?,
            hsts_subdomains: env.boolean("SECURE_HSTS_SUBDOMAINS", false)?,
            hsts_preload: env.boolean("SECURE_HSTS_PRELOAD", false)?,
        };
        if let Some(origin) = security.allowed_origins.iter().find(|origin| !is_origin(origin)) {
            return Err(SettingsError::invalid(
                "SECURE_ALLOWED_ORIGINS",
                origin,
                "comma-separated origins of the form scheme://host[:port], without spaces",
            ));
        }

        let throttle =
            ThrottleSettings { anon: env.rate("API_THROTTLE_ANON", "120/min")?, user: env.rate("API_THROTTLE_USER", "300/min")? };

        let db_name = env.string("DB_NAME", "keystone");
        if db_name.is_empty() {
            return Err(SettingsError::invalid("DB_NAME", &db_name, "a database name or SQLite file path"));
        }
        let database = DatabaseSettings {
            postgres_enable: env.boolean("DB_POSTGRES_ENABLE", false)?,
            sqlite_path: sqlite_path(&data_dir, &db_name),
            name: db_name,
            user: env.string("DB_USER", ""),
            password: env.optional("DB_PASSWORD").map(SecretString::from),
            host: env.string("DB_HOST", "localhost"),
            port: env.integer("DB_PORT", 5432, 1, 65_535)? as u16,
        };

        let redis = RedisSettings {
            host: env.string("REDIS_HOST", "127.0.0.1"),
            port: env.integer("REDIS_PORT", 6379, 1, 65_535)? as u16,
            db: env.integer("REDIS_DB", 0, 0, 1_000_000)? as u32,
            password: env.optional("REDIS_PASSWORD").map(SecretString::from),
            key_prefix: env.string("REDIS_KEY_PREFIX", "keystone:"),
        };

        let email = EmailSettings {
            from_address: env.string("EMAIL_FROM_ADDRESS", "noreply@keystone.bot"),
            template_dir: PathBuf::from(env.string("EMAIL_TEMPLATE_DIR", "/etc/keystone/templates")),
            debug_dir: env.optional("EMAIL_DEBUG_DIR").map(PathBuf::from),
            host: env.string("EMAIL_HOST", "localhost"),
            port: env.integer("EMAIL_PORT", 25, 1, 65_535)? as u16,
            user: env.string("EMAIL_HOST_USER", ""),
            password: env.optional("EMAIL_HOST_PASSWORD").map(SecretString::from),
            use_tls: env.boolean("EMAIL_USE_TLS", false)?,
        };

        let ldap = LdapSettings {
            server_uri: env.optional("AUTH_LDAP_SERVER_URI"),
            start_tls: env.boolean("AUTH_LDAP_START_TLS", true)?,
            bind_dn: env.string("AUTH_LDAP_BIND_DN", ""),
            bind_password: env.optional("AUTH_LDAP_BIND_PASSWORD").map(SecretString::from),
            user_search: env.string("AUTH_LDAP_USER_SEARCH", ""),
            user_filter: env.string("AUTH_LDAP_USER_FILTER", "(objectClass=account)"),
            login_filter: env.string("AUTH_LDAP_LOGIN_FILTER", "(uid=%(user)s)"),
            require_cert: env.boolean("AUTH_LDAP_REQUIRE_CERT", false)?,
            attr_map: env.dict("AUTH_LDAP_ATTR_MAP")?,
            timeout: Duration::from_secs(env.integer("AUTH_LDAP_TIMEOUT", 10, 1, 3600)?),
        };

        let timezone = env.string("CONFIG_TIMEZONE", "UTC");
        if timezone != "UTC" {
            // NOTE: only UTC is supported until a time zone database is part of the build.
            return Err(SettingsError::invalid("CONFIG_TIMEZONE", &timezone, "UTC"));
        }
        let files = FileSettings {
            timezone,
            static_dir: env.optional("CONFIG_STATIC_DIR").map(PathBuf::from).unwrap_or_else(|| in_data_dir("static_files")),
            upload_dir: env.optional("CONFIG_UPLOAD_DIR").map(PathBuf::from).unwrap_or_else(|| in_data_dir("media")),
            upload_size: env.integer("CONFIG_UPLOAD_SIZE", 2_621_440, 1, i64::MAX as u64)?,
            upload_count: env.integer("CONFIG_UPLOAD_COUNT", 15, 0, 1_000_000)?,
            metrics_ports: env.ports("CONFIG_METRICS_PORTS", 9101..=9149)?,
        };

        let level_raw = env.string("LOG_APP_LEVEL", "WARNING");
        let logging = LogSettings {
            app_level: parse_level(&level_raw)
                .ok_or_else(|| SettingsError::invalid("LOG_APP_LEVEL", &level_raw, "DEBUG, INFO, WARNING, ERROR or CRITICAL"))?,
            app_file: env.optional("LOG_APP_FILE").map(PathBuf::from).unwrap_or_else(|| in_data_dir("keystone.log")),
            app_retention_bytes: env.integer("LOG_APP_RETENTION_BYTES", 10_485_760, 0, u64::MAX)?,
            app_retention_files: env.integer("LOG_APP_RETENTION_FILES", 5, 0, 10_000)?,
            request_retention: Duration::from_secs(env.integer("LOG_REQ_RETENTION_SEC", 2_592_000, 0, u32::MAX as u64)?),
            audit_retention: Duration::from_secs(env.integer("LOG_AUD_RETENTION_SEC", 2_592_000, 0, u32::MAX as u64)?),
            task_retention: Duration::from_secs(env.integer("LOG_TSK_RETENTION_SEC", 2_592_000, 0, u32::MAX as u64)?),
        };

        let cluster_enable = env.boolean("CLUSTER_ENABLE", false)?;
        if cluster_enable && !database.postgres_enable {
            return Err(SettingsError::conflict(
                "CLUSTER_ENABLE",
                "true",
                "DB_POSTGRES_ENABLE=true as well, because cluster nodes share one PostgreSQL database",
            ));
        }

        if cluster_enable && security.secret_key.is_none() {
            return Err(SettingsError::conflict(
                "CLUSTER_ENABLE",
                "true",
                "SECURE_SECRET_KEY as well, set to the same value on every node, so any node accepts any session",
            ));
        }
        let debug_queries = env.boolean("KEYSTONE_DEBUG_QUERIES", false)?;
        let jobs = JobSettings {
            workers: env.integer("KEYSTONE_WORKERS", 2, 1, 64)?,
            visibility: Duration::from_secs(env.integer("KEYSTONE_JOB_VISIBILITY_SEC", 30, 2, 86_400)?),
            leader_ttl: Duration::from_secs(env.integer("KEYSTONE_LEADER_TTL_SEC", 15, 2, 3600)?),
            schedules: parse_schedules(env.raw("KEYSTONE_SCHEDULES").as_deref())?,
            test_tasks: env.boolean("KEYSTONE_TEST_TASKS", false)?,
        };
        Ok(Settings { data_dir, security, throttle, database, redis, email, ldap, files, logging, cluster_enable, debug_queries, jobs })
    }
}

fn parse_schedules(raw: Option<&str>) -> Result<BTreeMap<String, String>, SettingsError> {
    let mut schedules = BTreeMap::new();
    let Some(raw) = raw else {
        return Ok(schedules);
    };
    for entry in raw.split(';').map(str::trim).filter(|entry| !entry.is_empty()) {
        let Some((task, expression)) = entry.split_once('=') else {
            return Err(SettingsError::invalid("KEYSTONE_SCHEDULES", raw, "task=cron expression pairs separated by ;"));
        };
        schedules.insert(task.trim().to_string(), expression.trim().to_string());
    }
    Ok(schedules)
}

fn parse_level(raw: &str) -> Option<LogLevel> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "DEBUG" => Some(LogLevel::Debug),
        "INFO" => Some(LogLevel::Info),
        "WARNING" | "WARN" => Some(LogLevel::Warning),
        "ERROR" => Some(LogLevel::Error),
        "CRITICAL" => Some(LogLevel::Critical),
        _ => None,
    }
}

/// Derives the SQLite file from `DB_NAME`: the name's extension is replaced by `.db`, and a
/// relative name is placed in the data directory.
fn sqlite_path(data_dir: &Path, db_name: &str) -> PathBuf {
    let path = PathBuf::from(db_name).with_extension("db");
    if path.is_absolute() {
        path
    } else {
        data_dir.join(path)
    }
}

fn is_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains(['/', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: Vec<(&str, &str)> = pairs.to_vec();
        Settings::from_source(&env)
    }

    #[test]
    fn defaults_match_reference() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.security.allowed_hosts, vec!["localhost", "127.0.0.1"]);
        assert_eq!(settings.security.allowed_origins.len(), 8);
        assert_eq!(settings.security.session_age, 1_209_600);
        assert_eq!(settings.throttle.anon, Rate::parse("120/min").unwrap());
        assert_eq!(settings.throttle.user, Rate::parse("300/min").unwrap());
        assert_eq!(settings.database.port, 5432);
        assert_eq!(settings.database.sqlite_path, PathBuf::from("./keystone.db"));
        assert_eq!(settings.files.upload_size, 2_621_440);
        assert_eq!(settings.files.upload_count, 15);
        assert_eq!(settings.files.metrics_ports.first(), Some(&9101));
        assert_eq!(settings.files.metrics_ports.last(), Some(&9149));
        assert_eq!(settings.logging.app_level, LogLevel::Warning);
        assert_eq!(settings.email.port, 25);
        assert!(settings.ldap.start_tls);
        assert!(!settings.cluster_enable);
    }

    #[test]
    fn invalid_values_name_variable_value_and_form() {
        for (name, value) in [("DB_PORT", "abc"), ("API_THROTTLE_USER", "3/x"), ("CONFIG_UPLOAD_SIZE", "-1")] {
            let message = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains(value), "{message}");
            assert!(message.contains("expected"), "{message}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let settings = settings(&[("SECURE_SECRET_KEY", "hunter2-secret"), ("DB_PASSWORD", "db-pass-123")]).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2-secret"));
        assert!(!debug.contains("db-pass-123"));
        assert_eq!(settings.security.secret_key.unwrap().expose_secret(), "hunter2-secret");
    }

    #[test]
    fn sqlite_path_replaces_extension() {
        let settings = settings(&[("DB_NAME", "/var/lib/keystone/main.sqlite3")]).unwrap();
        assert_eq!(settings.database.sqlite_path, PathBuf::from("/var/lib/keystone/main.db"));
        let settings = Settings::from_source(&vec![("DB_NAME", "site"), ("KEYSTONE_DATA_DIR", "/srv/k")]).unwrap();
        assert_eq!(settings.database.sqlite_path, PathBuf::from("/srv/k/site.db"));
    }

    #[test]
    fn cluster_requires_postgres() {
        let message = settings(&[("CLUSTER_ENABLE", "true")]).unwrap_err().to_string();
        assert!(message.contains("DB_POSTGRES_ENABLE"), "{message}");
        let message = settings(&[("CLUSTER_ENABLE", "true"), ("DB_POSTGRES_ENABLE", "true")]).unwrap_err().to_string();
        assert!(message.contains("SECURE_SECRET_KEY"), "{message}");
        assert!(settings(&[("CLUSTER_ENABLE", "true"), ("DB_POSTGRES_ENABLE", "true"), ("SECURE_SECRET_KEY", "k")]).is_ok());
    }

    #[test]
    fn origins_must_be_well_formed() {
        let message = settings(&[("SECURE_ALLOWED_ORIGINS", "http://a.example, http://b.example")]).unwrap_err().to_string();
        assert!(message.contains("SECURE_ALLOWED_ORIGINS"), "{message}");
        assert!(settings(&[("SECURE_ALLOWED_ORIGINS", "https://portal.example.edu")]).is_ok());
    }
}
