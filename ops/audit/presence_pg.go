package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigilops/vigil/ops/presence"
)

// presenceChannel announces a bastion's published sessions.
const presenceChannel = "vigil_presence"

// Presence returns the shared store of the bastions' sessions, in the
// shared journal's database: a bastion's sessions count while it renews
// them (presence.Registry.Share's heartbeat) and expire after expiry. Nil
// for a bbolt journal: presence then stays within the process.
func (j *Journal) Presence(expiry time.Duration) presence.Remote {
	s, ok := j.remote.(*pgStore)
	if !ok {
		return nil
	}
	return &pgPresence{s: s, expiry: expiry}
}

type pgPresence struct {
	s      *pgStore
	expiry time.Duration
}

func (p *pgPresence) Changed() <-chan struct{} { return p.s.presenceChanged }

func (p *pgPresence) Publish(ctx context.Context, bastion string, sessions []presence.Entry) error {
	return pgx.BeginFunc(ctx, p.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM presence_sessions WHERE bastion = $1`, bastion); err != nil {
			return err
		}
		for _, e := range sessions {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO presence_sessions (bastion, session_id, entry) VALUES ($1, $2, $3)`,
				bastion, int64(e.ID), string(b)); err != nil {
				return err
			}
		}
		if len(sessions) == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM presence_bastions WHERE bastion = $1`, bastion); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `INSERT INTO presence_bastions (bastion) VALUES ($1)
			ON CONFLICT (bastion) DO UPDATE SET heartbeat_at = now()`, bastion); err != nil {
			return err
		}
		// The dead bastions' rows, long expired, go.
		if _, err := tx.Exec(ctx, `DELETE FROM presence_sessions WHERE heartbeat_at < now() - $1::interval * 10`, p.interval()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, presenceChannel, bastion)
		return err
	})
}

func (p *pgPresence) interval() string {
	return fmt.Sprintf("%d milliseconds", p.expiry.Milliseconds())
}

func (p *pgPresence) Others(ctx context.Context, bastion string) ([]presence.Entry, error) {
	// The server's clock judges the heartbeats: the bastions' may differ.
	// A session counts while its bastion's last heartbeat is recent.
	rows, err := p.s.pool.Query(ctx, `SELECT s.bastion, s.entry FROM presence_sessions s
		JOIN presence_bastions b ON b.bastion = s.bastion
		WHERE s.bastion <> $1 AND b.heartbeat_at > now() - $2::interval
		ORDER BY s.bastion, s.session_id`, bastion, p.interval())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []presence.Entry
	for rows.Next() {
		var (
			name string
			raw  []byte
			e    presence.Entry
		)
		if err := rows.Scan(&name, &raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, errors.New("a presence row does not decode: " + err.Error())
		}
		e.Bastion = name
		out = append(out, e)
	}
	return out, rows.Err()
}
