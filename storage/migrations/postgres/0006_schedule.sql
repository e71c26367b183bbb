-- Schedule ticks already enqueued, so a tick runs at most once even after every node restarts.

CREATE TABLE keystone_schedule_tick (
    task VARCHAR(255) NOT NULL,
    tick BIGINT NOT NULL,
    enqueued TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (task, tick)
);
