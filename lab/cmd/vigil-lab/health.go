package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

var probe = &http.Client{Timeout: 2 * time.Second}

// httpOK GETs url (with a bearer token when one is given) and wants a 200.
func httpOK(url, token string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := probe.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// waitFor retries check every 200ms until it succeeds or ctx ends, and
// returns its last error then.
func waitFor(ctx context.Context, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// amPeered checks that the Alertmanager at port is ready and its gossip
// cluster holds both peers.
func (l *lab) amPeered(port int) error {
	if err := httpOK(l.url(port)+"/-/ready", ""); err != nil {
		return err
	}
	resp, err := probe.Get(l.url(port) + "/api/v2/status")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct {
		Cluster struct {
			Status string            `json:"status"`
			Peers  []json.RawMessage `json:"peers"`
		} `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err
	}
	if len(st.Cluster.Peers) != 2 {
		return fmt.Errorf("the Alertmanager cluster has %d peers (status %s), want 2", len(st.Cluster.Peers), st.Cluster.Status)
	}
	return nil
}
