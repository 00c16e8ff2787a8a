-- The shared journal: one row per entry, Seq handed out under the counter
-- row's lock so that sequence order is commit order (a reader following
-- seq > n never skips an entry that commits later with a smaller Seq).

-- +goose Up
CREATE TABLE audit_entries (
    seq        bigint PRIMARY KEY,
    id         text   NOT NULL UNIQUE, -- the writer's idempotency key
    time_ns    bigint NOT NULL,        -- Unix nanoseconds, as precise as bbolt's
    actor      text   NOT NULL,
    role       text   NOT NULL DEFAULT '',
    key        text   NOT NULL DEFAULT '',
    action     text   NOT NULL,
    target     text   NOT NULL,
    parameters jsonb,
    result     text   NOT NULL,
    error      text   NOT NULL DEFAULT ''
);
CREATE INDEX audit_entries_time ON audit_entries (time_ns, seq);

CREATE TABLE audit_seq (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint  NOT NULL
);
INSERT INTO audit_seq (one, seq) VALUES (true, 0);

-- +goose Down
DROP TABLE audit_seq;
DROP TABLE audit_entries;
