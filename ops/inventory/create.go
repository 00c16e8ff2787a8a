package inventory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// Stage is how far a new host has come.
type Stage int

const (
	StageRequested Stage = iota
	StageActive
	StageIPAssigned
	StageSSHReachable
	StageFailed
)

func (s Stage) String() string {
	return [...]string{"requested", "active", "IP assigned", "SSH reachable", "failed"}[s]
}

// CreateProgress reports one new host's stage; Err is set with StageFailed.
type CreateProgress struct {
	Name   string
	HostID int
	Stage  Stage
	IP     string
	// HostKey is the SSH host key recorded at StageSSHReachable, if any.
	HostKey string
	Err     error
}

// Create makes one host per name from the named template and follows each
// from requested to SSH reachable, reporting every stage through progress
// (called from several goroutines, never at once). A template with VolumeGB
// gets each host a volume NAME-data, attached once the host is active.
func (s *Service) Create(ctx context.Context, actor access.Actor, template string, names []string, progress func(CreateProgress)) ([]Host, error) {
	targets := make([]string, len(names))
	for i, n := range names {
		targets[i] = "host/" + n
	}
	params := map[string]string{"template": template}
	if err := s.check(ctx, actor, ActCreate, targets, params); err != nil {
		return nil, err
	}
	defer presence.Begin(ctx, "creating "+hostNames(names)+" from template "+template)()
	var mu sync.Mutex
	report := func(p CreateProgress) {
		if progress != nil {
			mu.Lock()
			defer mu.Unlock()
			progress(p)
		}
	}
	hosts, errs := s.create(ctx, template, names, report)
	var all []error
	for i, n := range names {
		p := map[string]string{"template": template}
		if i < len(hosts) && hosts[i].ID != 0 {
			p["id"], p["ip"] = fmt.Sprint(hosts[i].ID), hosts[i].PublicIPv4
			p["region"], p["size"] = hosts[i].Region, hosts[i].Size
		}
		if errs[i] != nil {
			all = append(all, fmt.Errorf("%s: %w", n, errs[i]))
		}
		if jerr := s.record(ctx, actor, ActCreate, "host/"+n, p, errs[i]); jerr != nil {
			all = append(all, jerr)
		}
	}
	s.refreshQuietly(ctx)
	return hosts, errors.Join(all...)
}

// create returns the hosts as last seen and one error slot per name.
func (s *Service) create(ctx context.Context, template string, names []string, report func(CreateProgress)) ([]Host, []error) {
	errs := make([]error, len(names))
	fail := func(err error) ([]Host, []error) {
		for i, n := range names {
			if errs[i] == nil {
				errs[i] = err
				report(CreateProgress{Name: n, Stage: StageFailed, Err: err})
			}
		}
		return nil, errs
	}
	t, ok := s.Template(template)
	if !ok {
		return fail(fmt.Errorf("no host template %q: define it under digitalocean.templates in the config", template))
	}
	if err := validNames(names); err != nil {
		return fail(err)
	}
	vols := make([]Volume, len(names))
	if t.VolumeGB > 0 {
		for i, n := range names {
			v, err := s.cloud.CreateVolume(ctx, VolumeRequest{Name: n + "-data", Region: t.Region, SizeGB: t.VolumeGB})
			if err != nil {
				return fail(err)
			}
			vols[i] = v
		}
	}
	hosts, err := s.cloud.Create(ctx, CreateRequest{
		Names: names, Region: t.Region, Size: t.Size, Image: t.Image, SSHKeys: t.SSHKeys, Tags: t.Tags, UserData: t.UserData,
		VPC: t.VPC,
	})
	if err != nil {
		return fail(err)
	}
	if len(hosts) != len(names) {
		return fail(fmt.Errorf("asked for %d hosts, the cloud reported %d", len(names), len(hosts)))
	}
	var wg sync.WaitGroup
	for i := range hosts {
		report(CreateProgress{Name: hosts[i].Name, HostID: hosts[i].ID, Stage: StageRequested})
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = s.follow(ctx, hosts[i], vols[i], report)
			if errs[i] != nil {
				report(CreateProgress{Name: hosts[i].Name, HostID: hosts[i].ID, Stage: StageFailed, Err: errs[i]})
			}
		}()
	}
	wg.Wait()
	return hosts, errs
}

func validNames(names []string) error {
	if len(names) == 0 {
		return errors.New("give at least one host name")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t/") {
			return fmt.Errorf("host name %q is invalid: use letters, digits, dots and dashes", n)
		}
		if seen[n] {
			return fmt.Errorf("host name %q is given twice", n)
		}
		seen[n] = true
	}
	return nil
}

// follow waits for a new host to be active with an address, attaches its
// volume, then waits for its SSH server.
func (s *Service) follow(ctx context.Context, h Host, vol Volume, report func(CreateProgress)) (Host, error) {
	tick := time.NewTicker(s.opt.PollInterval)
	defer tick.Stop()
	active := false
	for h.Status != "active" || h.PublicIPv4 == "" {
		select {
		case <-ctx.Done():
			return h, fmt.Errorf("stopped waiting for the host to boot: %w", ctx.Err())
		case <-tick.C:
		}
		var err error
		if h, err = s.cloud.Host(ctx, h.ID); err != nil {
			return h, err
		}
		if h.Status == "active" && !active {
			active = true
			report(CreateProgress{Name: h.Name, HostID: h.ID, Stage: StageActive})
		}
	}
	if !active {
		report(CreateProgress{Name: h.Name, HostID: h.ID, Stage: StageActive})
	}
	report(CreateProgress{Name: h.Name, HostID: h.ID, Stage: StageIPAssigned, IP: h.PublicIPv4})
	if vol.ID != "" {
		if err := s.cloud.AttachVolume(ctx, vol.ID, h.ID, nil); err != nil {
			return h, err
		}
		h.VolumeIDs = append(h.VolumeIDs, vol.ID)
	}
	sshCtx, cancel := context.WithTimeout(ctx, s.opt.SSHTimeout)
	defer cancel()
	for {
		err := s.opt.Probe(sshCtx, h.PublicIPv4)
		if err == nil {
			break
		}
		select {
		case <-sshCtx.Done():
			return h, fmt.Errorf("SSH on %s did not answer within %s: %w", h.PublicIPv4, s.opt.SSHTimeout, err)
		case <-tick.C:
		}
	}
	p := CreateProgress{Name: h.Name, HostID: h.ID, Stage: StageSSHReachable, IP: h.PublicIPv4}
	if s.opt.HostKeys != nil {
		// Recorded at creation, in place of any key a former host at this
		// address had: vigil made this host, so its first key is its own.
		k, err := s.opt.HostKeys.Trust(sshCtx, h.PublicIPv4)
		if err != nil {
			return h, fmt.Errorf("recording the SSH host key of %s: %w", h.PublicIPv4, err)
		}
		p.HostKey = k.Fingerprint
	}
	report(p)
	return h, nil
}

// ProbeSSH connects to port 22 of ip and reads the server's identification
// line, the first step of the SSH handshake.
func ProbeSSH(ctx context.Context, ip string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, "22"))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no SSH greeting from %s: %w", ip, err)
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("%s:22 answers, but not as an SSH server", ip)
	}
	return nil
}
