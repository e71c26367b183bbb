-- Clusters, allocation requests and their children, grants and publications.
-- Deleting a user referenced as submitter, reviewer or comment author, or a cluster referenced
-- by an allocation, is restricted; the API reports it as a conflict.

CREATE TABLE allocations_cluster (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(50) NOT NULL UNIQUE,
    description TEXT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    access_mode VARCHAR(2) NOT NULL DEFAULT 'OP'
);

CREATE TABLE allocations_cluster_access_teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id BIGINT NOT NULL REFERENCES allocations_cluster (id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES users_team (id) ON DELETE CASCADE,
    UNIQUE (cluster_id, team_id)
);
CREATE INDEX allocations_cluster_access_teams_team_idx ON allocations_cluster_access_teams (team_id);

CREATE TABLE research_products_grant (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR(250) NOT NULL,
    agency VARCHAR(100) NOT NULL,
    pi VARCHAR(100) NULL,
    -- Amount in cents, so sums stay exact on both backends.
    amount_cents BIGINT NOT NULL,
    grant_number VARCHAR(250) NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NULL,
    description TEXT NULL,
    team_id BIGINT NOT NULL REFERENCES users_team (id) ON DELETE CASCADE
);
CREATE INDEX research_products_grant_title_idx ON research_products_grant (title);
CREATE INDEX research_products_grant_agency_idx ON research_products_grant (agency, start_date, end_date);
CREATE INDEX research_products_grant_number_idx ON research_products_grant (grant_number);
CREATE INDEX research_products_grant_start_idx ON research_products_grant (start_date);
CREATE INDEX research_products_grant_end_idx ON research_products_grant (end_date);
CREATE INDEX research_products_grant_team_idx ON research_products_grant (team_id, start_date, end_date);

CREATE TABLE research_products_publication (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR(250) NOT NULL,
    abstract TEXT NULL,
    published TEXT NULL,
    submitted TEXT NULL,
    journal VARCHAR(100) NULL,
    doi VARCHAR(50) NULL UNIQUE,
    volume VARCHAR(20) NULL,
    issue VARCHAR(20) NULL,
    team_id BIGINT NOT NULL REFERENCES users_team (id) ON DELETE CASCADE
);
CREATE INDEX research_products_publication_title_idx ON research_products_publication (title);
CREATE INDEX research_products_publication_published_idx ON research_products_publication (published);
CREATE INDEX research_products_publication_submitted_idx ON research_products_publication (submitted);
CREATE INDEX research_products_publication_journal_idx ON research_products_publication (journal);
CREATE INDEX research_products_publication_team_idx ON research_products_publication (team_id, published);

CREATE TABLE allocations_allocationrequest (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR(250) NOT NULL,
    description TEXT NOT NULL,
    submitted TEXT NOT NULL,
    active TEXT NULL,
    expire TEXT NULL,
    status VARCHAR(2) NOT NULL DEFAULT 'PD',
    submitter_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE RESTRICT,
    team_id BIGINT NOT NULL REFERENCES users_team (id) ON DELETE CASCADE
);
CREATE INDEX allocations_request_status_idx ON allocations_allocationrequest (status);
CREATE INDEX allocations_request_submitted_idx ON allocations_allocationrequest (submitted);
CREATE INDEX allocations_request_active_idx ON allocations_allocationrequest (active);
CREATE INDEX allocations_request_expire_idx ON allocations_allocationrequest (expire);
CREATE INDEX allocations_request_submitter_idx ON allocations_allocationrequest (submitter_id, status);
CREATE INDEX allocations_request_team_status_idx ON allocations_allocationrequest (team_id, status);
CREATE INDEX allocations_request_team_dates_idx ON allocations_allocationrequest (team_id, active, expire);
CREATE INDEX allocations_request_team_expire_idx ON allocations_allocationrequest (team_id, expire);

CREATE TABLE allocations_allocationrequest_assignees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    allocationrequest_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE CASCADE,
    UNIQUE (allocationrequest_id, user_id)
);
CREATE INDEX allocations_request_assignees_user_idx ON allocations_allocationrequest_assignees (user_id);

CREATE TABLE allocations_allocationrequest_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    allocationrequest_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE,
    grant_id BIGINT NOT NULL REFERENCES research_products_grant (id) ON DELETE CASCADE,
    UNIQUE (allocationrequest_id, grant_id)
);
CREATE INDEX allocations_request_grants_grant_idx ON allocations_allocationrequest_grants (grant_id);

CREATE TABLE allocations_allocationrequest_publications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    allocationrequest_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE,
    publication_id BIGINT NOT NULL REFERENCES research_products_publication (id) ON DELETE CASCADE,
    UNIQUE (allocationrequest_id, publication_id)
);
CREATE INDEX allocations_request_publications_publication_idx ON allocations_allocationrequest_publications (publication_id);

CREATE TABLE allocations_allocationreview (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status VARCHAR(2) NOT NULL,
    submitted TEXT NOT NULL,
    request_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE,
    reviewer_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE RESTRICT
);
CREATE INDEX allocations_review_status_idx ON allocations_allocationreview (status);
CREATE INDEX allocations_review_submitted_idx ON allocations_allocationreview (submitted);
CREATE INDEX allocations_review_request_idx ON allocations_allocationreview (request_id);
CREATE INDEX allocations_review_reviewer_idx ON allocations_allocationreview (reviewer_id);

CREATE TABLE allocations_resourceallocation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    requested BIGINT NOT NULL CHECK (requested >= 0),
    awarded BIGINT NULL CHECK (awarded >= 0),
    final BIGINT NULL CHECK (final >= 0),
    cluster_id BIGINT NOT NULL REFERENCES allocations_cluster (id) ON DELETE RESTRICT,
    request_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE
);
CREATE INDEX allocations_allocation_request_idx ON allocations_resourceallocation (request_id);
CREATE INDEX allocations_allocation_cluster_request_idx ON allocations_resourceallocation (cluster_id, request_id);

CREATE TABLE allocations_attachment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file VARCHAR(100) NOT NULL,
    name VARCHAR(250) NOT NULL,
    uploaded TEXT NOT NULL,
    request_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE
);
CREATE INDEX allocations_attachment_uploaded_idx ON allocations_attachment (uploaded);
CREATE INDEX allocations_attachment_request_idx ON allocations_attachment (request_id);

CREATE TABLE allocations_comment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content TEXT NOT NULL,
    created TEXT NOT NULL,
    private BOOLEAN NOT NULL DEFAULT FALSE,
    user_id BIGINT NOT NULL REFERENCES users_user (id) ON DELETE RESTRICT,
    request_id BIGINT NOT NULL REFERENCES allocations_allocationrequest (id) ON DELETE CASCADE
);
CREATE INDEX allocations_comment_created_idx ON allocations_comment (created);
CREATE INDEX allocations_comment_request_idx ON allocations_comment (request_id);
CREATE INDEX allocations_comment_user_request_idx ON allocations_comment (user_id, request_id, created);
