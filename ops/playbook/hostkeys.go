package playbook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/inventory"
)

// hostKeyTimeout bounds reading one host's SSH key before a run.
const hostKeyTimeout = 15 * time.Second

// checkHostKeys compares each host's SSH key with the one recorded before
// anything runs, recording it on first contact (returned by host name). A
// changed key refuses the run; an unreachable host is Ansible's to report.
func (s *Service) checkHostKeys(ctx context.Context, inv *Inventory, hosts []string) (map[string]string, error) {
	keys := s.opt.HostKeys
	if keys == nil {
		return nil, nil
	}
	var (
		mu       sync.Mutex
		recorded = map[string]string{}
		errs     []error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, 8)
	)
	for _, h := range hosts {
		addr, _ := inv.HostVars[h]["ansible_host"].(string)
		if addr == "" {
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			cctx, cancel := context.WithTimeout(ctx, hostKeyTimeout)
			defer cancel()
			k, err := keys.Check(cctx, addr)
			mu.Lock()
			defer mu.Unlock()
			var changed *inventory.HostKeyChangedError
			switch {
			case errors.As(err, &changed):
				changed.Host = h
				errs = append(errs, changed)
			case err == nil && k.Recorded:
				recorded[h] = k.Fingerprint
			}
		})
	}
	wg.Wait()
	return recorded, errors.Join(errs...)
}
