-- Users, teams, memberships, sign-in state and the audit log.
-- Table and column names follow the reference schema, so data can be copied across.

CREATE TABLE django_content_type (
    id BIGINT PRIMARY KEY,
    app_label VARCHAR(100) NOT NULL,
    model VARCHAR(100) NOT NULL,
    UNIQUE (app_label, model)
);

INSERT INTO django_content_type (id, app_label, model) VALUES
    (1, 'users', 'User'),
    (2, 'users', 'Team'),
    (3, 'users', 'Membership'),
    (4, 'allocations', 'Cluster'),
    (5, 'allocations', 'AllocationRequest'),
    (6, 'allocations', 'AllocationReview'),
    (7, 'allocations', 'ResourceAllocation'),
    (8, 'allocations', 'Attachment'),
    (9, 'allocations', 'Comment'),
    (10, 'research_products', 'Grant'),
    (11, 'research_products', 'Publication');

CREATE TABLE auth_group (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(150) NOT NULL UNIQUE
);

CREATE TABLE auth_permission (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    codename VARCHAR(100) NOT NULL UNIQUE
);

CREATE TABLE users_user (
    id BIGSERIAL PRIMARY KEY,
    password VARCHAR(128) NOT NULL,
    last_login TIMESTAMPTZ NULL,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    username VARCHAR(150) NOT NULL UNIQUE,
    first_name VARCHAR(150) NULL,
    last_name VARCHAR(150) NULL,
    email VARCHAR(254) NULL,
    department VARCHAR(1000) NULL,
    role VARCHAR(1000) NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_ldap_user BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_user_first_name_idx ON users_user (first_name);
CREATE INDEX users_user_last_first_idx ON users_user (last_name, first_name);
CREATE INDEX users_user_email_idx ON users_user (email);
CREATE INDEX users_user_is_staff_idx ON users_user (is_staff);
CREATE INDEX users_user_is_ldap_user_idx ON users_user (is_ldap_user);
CREATE INDEX users_user_date_joined_idx ON users_user (date_joined);
CREATE INDEX users_user_last_login_idx ON users_user (last_login);
CREATE INDEX users_user_active_staff_idx ON users_user (is_active, is_staff);

CREATE TABLE users_user_groups (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES auth_group (id) ON DELETE CASCADE,
    UNIQUE (user_id, group_id)
);

CREATE TABLE users_user_user_permissions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES auth_permission (id) ON DELETE CASCADE,
    UNIQUE (user_id, permission_id)
);

CREATE TABLE users_team (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    slug VARCHAR(255) NOT NULL UNIQUE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX users_team_is_active_idx ON users_team (is_active);
CREATE INDEX users_team_slug_active_idx ON users_team (slug, is_active);

CREATE TABLE users_membership (
    id BIGSERIAL PRIMARY KEY,
    role VARCHAR(2) NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES users_team (id) ON DELETE CASCADE,
    UNIQUE (user_id, team_id)
);
CREATE INDEX users_membership_user_role_idx ON users_membership (user_id, role);
CREATE INDEX users_membership_team_role_idx ON users_membership (team_id, role);
CREATE INDEX users_membership_team_user_role_idx ON users_membership (team_id, user_id, role);

-- Sessions are keyed by an HMAC of the cookie value, so a copy of this table cannot be replayed.
CREATE TABLE keystone_session (
    key_digest VARCHAR(64) PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    created TIMESTAMPTZ NOT NULL,
    expire_date TIMESTAMPTZ NOT NULL
);
CREATE INDEX keystone_session_user_idx ON keystone_session (user_id);
CREATE INDEX keystone_session_expire_idx ON keystone_session (expire_date);

CREATE TABLE authtoken_token (
    key VARCHAR(40) PRIMARY KEY,
    user_id BIGINT NOT NULL UNIQUE REFERENCES users_user (id) ON DELETE CASCADE,
    created TIMESTAMPTZ NOT NULL
);

CREATE TABLE auditlog_logentry (
    id BIGSERIAL PRIMARY KEY,
    content_type_id BIGINT NOT NULL REFERENCES django_content_type (id),
    object_pk VARCHAR(255) NOT NULL,
    object_id BIGINT NULL,
    object_repr TEXT NOT NULL,
    action SMALLINT NOT NULL,
    changes_text TEXT NOT NULL DEFAULT '',
    changes TEXT NULL,
    cid VARCHAR(255) NULL,
    remote_addr VARCHAR(64) NULL,
    remote_port INTEGER NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    actor_id BIGINT NULL REFERENCES users_user (id) ON DELETE SET NULL,
    actor_email VARCHAR(254) NULL
);
CREATE INDEX auditlog_object_idx ON auditlog_logentry (content_type_id, object_id);
CREATE INDEX auditlog_timestamp_idx ON auditlog_logentry (timestamp);
CREATE INDEX auditlog_actor_idx ON auditlog_logentry (actor_id);
