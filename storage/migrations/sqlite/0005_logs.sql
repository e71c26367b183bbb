-- Request records and background task results, served under /logs/.

CREATE TABLE logging_requestlog (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    method VARCHAR(10) NOT NULL,
    endpoint VARCHAR(2048) NOT NULL,
    response_code INTEGER NOT NULL,
    remote_address VARCHAR(40) NULL,
    timestamp TEXT NOT NULL,
    cid VARCHAR(36) NULL,
    user_id BIGINT NULL REFERENCES users_user (id) ON DELETE SET NULL
);
CREATE INDEX logging_requestlog_timestamp_idx ON logging_requestlog (timestamp);
CREATE INDEX logging_requestlog_user_idx ON logging_requestlog (user_id);

CREATE TABLE django_celery_results_taskresult (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id VARCHAR(255) NOT NULL UNIQUE,
    periodic_task_name VARCHAR(255) NULL,
    task_name VARCHAR(255) NULL,
    task_args TEXT NULL,
    task_kwargs TEXT NULL,
    status VARCHAR(50) NOT NULL,
    worker VARCHAR(100) NULL,
    content_type VARCHAR(128) NOT NULL,
    content_encoding VARCHAR(64) NOT NULL,
    result TEXT NULL,
    date_created TEXT NOT NULL,
    date_started TEXT NULL,
    date_done TEXT NOT NULL,
    traceback TEXT NULL,
    meta TEXT NULL
);
CREATE INDEX taskresult_date_created_idx ON django_celery_results_taskresult (date_created);
CREATE INDEX taskresult_date_done_idx ON django_celery_results_taskresult (date_done);
CREATE INDEX taskresult_task_name_idx ON django_celery_results_taskresult (task_name);
