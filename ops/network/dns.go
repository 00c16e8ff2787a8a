package network

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilops/vigil/ops/inventory"
)

// ConflictError says a record exists with other data; nothing is
// overwritten unless the replacing plan is confirmed.
type ConflictError struct {
	Wanted   Record
	Existing []Record
}

func (e *ConflictError) Error() string {
	var have []string
	for _, r := range e.Existing {
		have = append(have, fmt.Sprintf("%s %s (ID %d)", r.Type, r.Data, r.ID))
	}
	return fmt.Sprintf("%s exists already as %s, not %s %s: replacing it needs confirmation",
		e.Wanted.FQDN(), strings.Join(have, ", "), e.Wanted.Type, e.Wanted.Data)
}

func (s *Service) domain(name string) (string, error) {
	if name == "" {
		name = s.opt.Domain
	}
	if name == "" {
		return "", fmt.Errorf("name the domain, or set digitalocean.network.domain")
	}
	return strings.TrimSuffix(strings.ToLower(name), "."), nil
}

// RecordsOf lists the records pointing at h: A records with its address,
// CNAMEs to a name that points at it.
func (s *Service) RecordsOf(h inventory.Host) []Record {
	var out []Record
	names := map[string]bool{}
	for _, r := range s.State().Records {
		if (r.Type == "A" && r.Data == h.PublicIPv4 && h.PublicIPv4 != "") || (r.Type == "A" && r.Data == h.PrivateIPv4 && h.PrivateIPv4 != "") {
			out = append(out, r)
			names[r.FQDN()] = true
		}
	}
	for _, r := range s.State().Records {
		if r.Type == "CNAME" && names[strings.TrimSuffix(r.Data, ".")] {
			out = append(out, r)
		}
	}
	return out
}

// PlanHostRecord plans an A record name.domain for the host's public
// address (name defaults to the host's name, domain to the configured one).
// A record of that name with other data is a conflict: the plan then
// replaces it, is dangerous, and carries the conflict in its warnings;
// the same record existing already plans nothing.
func (s *Service) PlanHostRecord(hostName, name, domain string) (Plan, error) {
	h, err := s.host(hostName)
	if err != nil {
		return Plan{}, err
	}
	if h.PublicIPv4 == "" {
		return Plan{}, fmt.Errorf("%s has no public address yet: wait for it to be active", h.Name)
	}
	if name == "" {
		name = h.Name
	}
	return s.PlanRecord(Record{Type: "A", Name: name, Data: h.PublicIPv4, TTL: 300}, domain)
}

// PlanRecord plans a record (see PlanHostRecord for conflicts).
func (s *Service) PlanRecord(want Record, domain string) (Plan, error) {
	d, err := s.domain(domain)
	if err != nil {
		return Plan{}, err
	}
	want.Domain = d
	want.Name = relName(want.Name, d)
	p := Plan{Action: ActRecord, Entry: "dns.record.create", Target: "dns:" + want.FQDN(), Title: "Point " + want.FQDN() + " at " + want.Data}
	hasDomain := slices.ContainsFunc(s.State().Domains, func(x Domain) bool { return x.Name == d })
	if !hasDomain {
		p.Create = append(p.Create, "domain "+d)
	}
	var clash []Record
	for _, r := range s.State().Records {
		if r.Domain != d || r.Name != want.Name {
			continue
		}
		if r.Type == want.Type && r.Data == want.Data {
			return p, nil // there already: nothing to do
		}
		if r.Type == want.Type || r.Type == "CNAME" || want.Type == "CNAME" {
			clash = append(clash, r)
		}
	}
	if len(clash) > 0 {
		conflict := &ConflictError{Wanted: want, Existing: clash}
		p.Action, p.Entry, p.Title = ActReplaceRecord, "dns.record.replace", "Replace "+want.FQDN()
		p.Danger = conflict.Error()
		p.Warnings = append(p.Warnings, conflict.Error())
		for _, r := range clash[1:] {
			p.Remove = append(p.Remove, fmt.Sprintf("record %s %s %s", r.FQDN(), r.Type, r.Data))
		}
		p.Change = append(p.Change, fmt.Sprintf("record %s %s %s → %s %s", want.FQDN(), clash[0].Type, clash[0].Data, want.Type, want.Data))
		p.apply = func(ctx context.Context) error {
			for _, r := range clash[1:] {
				if err := s.cloud.DeleteRecord(ctx, d, r.ID); err != nil {
					return err
				}
			}
			want.ID = clash[0].ID
			_, err := s.cloud.UpdateRecord(ctx, want)
			return err
		}
		return p, nil
	}
	p.Create = append(p.Create, fmt.Sprintf("record %s %s %s", want.FQDN(), want.Type, want.Data))
	p.apply = func(ctx context.Context) error {
		if !hasDomain {
			if _, err := s.cloud.CreateDomain(ctx, d); err != nil {
				return err
			}
		}
		_, err := s.cloud.CreateRecord(ctx, want)
		return err
	}
	return p, nil
}

// Conflict returns the plan's record conflict, if it has one.
func (p Plan) Conflict() bool { return p.Action == ActReplaceRecord }

func relName(name, domain string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	switch {
	case name == "" || name == domain:
		return "@"
	case strings.HasSuffix(name, "."+domain):
		return strings.TrimSuffix(name, "."+domain)
	}
	return name
}

// PlanRemoveHostRecords plans removing the records pointing at h (as the
// destroy flow offers); an empty plan when there are none.
func (s *Service) PlanRemoveHostRecords(h inventory.Host) Plan {
	recs := s.RecordsOf(h)
	p := Plan{Action: ActRemoveRecord, Entry: "dns.record.remove", Target: "host:" + h.Name, Title: "Remove the DNS records of " + h.Name}
	if len(recs) == 0 {
		return p
	}
	var names []string
	for _, r := range recs {
		p.Remove = append(p.Remove, fmt.Sprintf("record %s %s %s", r.FQDN(), r.Type, r.Data))
		names = append(names, r.FQDN())
	}
	p.Danger = strings.Join(names, ", ") + " stop resolving"
	p.apply = func(ctx context.Context) error {
		for _, r := range recs {
			if err := s.cloud.DeleteRecord(ctx, r.Domain, r.ID); err != nil {
				return err
			}
		}
		return nil
	}
	return p
}

// PlanRemoveRecord plans removing one record by its full name and type.
func (s *Service) PlanRemoveRecord(fqdn, typ string) (Plan, error) {
	var match []Record
	for _, r := range s.State().Records {
		if r.FQDN() == strings.TrimSuffix(fqdn, ".") && (typ == "" || r.Type == typ) {
			match = append(match, r)
		}
	}
	if len(match) == 0 {
		return Plan{}, fmt.Errorf("no record named %s: refresh the network view or check the name", fqdn)
	}
	p := Plan{Action: ActRemoveRecord, Entry: "dns.record.remove", Target: "dns:" + fqdn, Title: "Remove " + fqdn, Danger: fqdn + " stops resolving"}
	for _, r := range match {
		p.Remove = append(p.Remove, fmt.Sprintf("record %s %s %s", r.FQDN(), r.Type, r.Data))
	}
	p.apply = func(ctx context.Context) error {
		for _, r := range match {
			if err := s.cloud.DeleteRecord(ctx, r.Domain, r.ID); err != nil {
				return err
			}
		}
		return nil
	}
	return p, nil
}
