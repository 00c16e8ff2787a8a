package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilops/vigil/ops/inventory"
)

// Inventory is Ansible's view of the hosts: groups from tags, regions and
// sizes, and per-host variables with ansible_host = public IPv4.
type Inventory struct {
	Groups   map[string][]string       // group → host names, sorted
	HostVars map[string]map[string]any // host → variables
}

// InventoryOptions add connection variables to every host.
type InventoryOptions struct {
	User       string // ansible_user
	PrivateKey string // ansible_ssh_private_key_file
}

// reserved group names Ansible defines itself.
var reserved = []string{"all", "ungrouped"}

// GroupName turns a tag into a valid Ansible group name: letters, digits and
// underscores, not starting with a digit, and not a name Ansible reserves.
func GroupName(tag string) string {
	var b strings.Builder
	for _, r := range tag {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	g := b.String()
	if g == "" || (g[0] >= '0' && g[0] <= '9') || slices.Contains(reserved, g) {
		g = "tag_" + g
	}
	return g
}

// BuildInventory makes the inventory of hosts. Hosts without a public IPv4
// (still booting) are left out: Ansible could not reach them.
func BuildInventory(hosts []inventory.Host, opt InventoryOptions) *Inventory {
	inv := &Inventory{Groups: map[string][]string{}, HostVars: map[string]map[string]any{}}
	add := func(group, host string) {
		if !slices.Contains(inv.Groups[group], host) {
			inv.Groups[group] = append(inv.Groups[group], host)
		}
	}
	for _, h := range hosts {
		if h.PublicIPv4 == "" || h.Name == "" {
			continue
		}
		name := h.Name
		if _, dup := inv.HostVars[name]; dup {
			name = fmt.Sprintf("%s-%d", h.Name, h.ID) // droplet names need not be unique
		}
		vars := map[string]any{
			"ansible_host": h.PublicIPv4, "do_id": h.ID, "do_region": h.Region, "do_size": h.Size,
			"do_image": h.Image, "do_status": h.Status, "do_tags": h.Tags, "do_private_ipv4": h.PrivateIPv4,
		}
		if opt.User != "" {
			vars["ansible_user"] = opt.User
		}
		if opt.PrivateKey != "" {
			vars["ansible_ssh_private_key_file"] = opt.PrivateKey
		}
		inv.HostVars[name] = vars
		for _, t := range h.Tags {
			add(GroupName(t), name)
		}
		if h.Region != "" {
			add("region_"+GroupName(h.Region), name)
		}
		if h.Size != "" {
			add("size_"+GroupName(h.Size), name)
		}
	}
	for _, g := range inv.Groups {
		slices.Sort(g)
	}
	return inv
}

// Hosts lists every host name, sorted.
func (inv *Inventory) Hosts() []string {
	out := make([]string, 0, len(inv.HostVars))
	for h := range inv.HostVars {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// List is the output of `--list` in Ansible's dynamic inventory script
// protocol: every group with its hosts, and _meta.hostvars.
func (inv *Inventory) List() ([]byte, error) {
	out := map[string]any{
		"_meta": map[string]any{"hostvars": inv.HostVars},
		"all":   map[string]any{"hosts": inv.Hosts(), "children": append([]string{"ungrouped"}, inv.groupNames()...)},
	}
	for g, hs := range inv.Groups {
		out[g] = map[string]any{"hosts": hs}
	}
	return json.MarshalIndent(out, "", "  ")
}

// Host is the output of `--host NAME`: that host's variables.
func (inv *Inventory) Host(name string) ([]byte, error) {
	vars, ok := inv.HostVars[name]
	if !ok {
		return nil, fmt.Errorf("no host %q in the inventory (DigitalOcean answered): see `vigil inventory --list`", name)
	}
	return json.MarshalIndent(vars, "", "  ")
}

func (inv *Inventory) groupNames() []string {
	out := make([]string, 0, len(inv.Groups))
	for g := range inv.Groups {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// Static is the same inventory in the YAML inventory plugin's shape (as
// JSON, which that plugin reads), for a file given to ansible-playbook -i.
func (inv *Inventory) Static() ([]byte, error) {
	hosts := map[string]any{}
	for h, v := range inv.HostVars {
		hosts[h] = v
	}
	children := map[string]any{}
	for g, hs := range inv.Groups {
		m := map[string]any{}
		for _, h := range hs {
			m[h] = nil
		}
		children[g] = map[string]any{"hosts": m}
	}
	return json.Marshal(map[string]any{"all": map[string]any{"hosts": hosts, "children": children}})
}

// HostLister is where the inventory commands read hosts from; the cloud
// integration implements it.
type HostLister interface {
	Hosts(ctx context.Context, tag string) ([]inventory.Host, error)
}

// WriteInventory prints what `vigil inventory --list` (host == "") or
// `vigil inventory --host NAME` prints, from the cloud's hosts.
func WriteInventory(ctx context.Context, w io.Writer, src HostLister, opt InventoryOptions, host string) error {
	hosts, err := src.Hosts(ctx, "")
	if err != nil {
		return err
	}
	inv := BuildInventory(hosts, opt)
	var out []byte
	if host == "" {
		out, err = inv.List()
	} else {
		out, err = inv.Host(host)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// writeAtomic writes data to path through a temporary file and a rename, so
// that a reader (Prometheus) never sees half a file.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
