-- Presence shared by the bastions: each renews its sessions' rows (the
-- heartbeat); rows not renewed within the expiry belong to a bastion that
-- died, and are ignored, then removed.

-- +goose Up
CREATE TABLE presence_sessions (
    bastion      text        NOT NULL,
    session_id   bigint      NOT NULL,
    entry        jsonb       NOT NULL,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bastion, session_id)
);
CREATE TABLE presence_bastions (
    bastion      text        PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE presence_bastions;
DROP TABLE presence_sessions;
