-- Playbook run history shared by the bastions: runs, and each run's events
-- by sequence number (a batch written again is not stored twice).

-- +goose Up
CREATE TABLE playbook_runs (
    id   text  PRIMARY KEY, -- run ids sort by start time
    doc  jsonb NOT NULL     -- the run, with its owner while it runs
);
CREATE TABLE playbook_events (
    run_id text    NOT NULL,
    seq    integer NOT NULL,
    doc    jsonb   NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- +goose Down
DROP TABLE playbook_events;
DROP TABLE playbook_runs;
