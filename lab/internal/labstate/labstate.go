// Package labstate is the lab's state directory: where it lives, its layout,
// and the loopback ports chosen at the first `up` and kept afterwards.
package labstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
)

// ClusterName is the kwok cluster's name; its kubeconfig context is
// "kwok-" + ClusterName.
const ClusterName = "vigil-lab"

// Dir is $VIGIL_LAB_STATE, else $XDG_STATE_HOME/vigil-lab, else
// ~/.local/state/vigil-lab.
func Dir() string {
	if d := os.Getenv("VIGIL_LAB_STATE"); d != "" {
		return d
	}
	return DefaultDir()
}

// DefaultDir is the state dir without $VIGIL_LAB_STATE: the shared lab's.
func DefaultDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "vigil-lab")
}

// Ports are the lab's listening ports, all on 127.0.0.1.
type Ports struct {
	APIServer         int `json:"apiserver"`
	Etcd              int `json:"etcd"`
	EtcdPeer          int `json:"etcd_peer"`
	KwokController    int `json:"kwok_controller"`
	ControllerManager int `json:"kube_controller_manager"`
	Scheduler         int `json:"kube_scheduler"`
	Prometheus        int `json:"prometheus"`
	Alertmanager      int `json:"alertmanager"`
	Exporter          int `json:"exporter"`
	Emulator          int `json:"emulator"`
	Postgres          int `json:"postgres"`
	// The second Alertmanager, and both one's gossip ports (TCP and UDP).
	Alertmanager2       int `json:"alertmanager_2"`
	AlertmanagerGossip  int `json:"alertmanager_gossip"`
	Alertmanager2Gossip int `json:"alertmanager_2_gossip"`
}

// ByName lists the ports by component, sorted by name.
func (p Ports) ByName() []NamedPort {
	all := []NamedPort{
		{"etcd", p.Etcd}, {"etcd-peer", p.EtcdPeer}, {"kube-apiserver", p.APIServer},
		{"kube-controller-manager", p.ControllerManager}, {"kube-scheduler", p.Scheduler},
		{"kwok-controller", p.KwokController}, {"prometheus", p.Prometheus},
		{"alertmanager", p.Alertmanager}, {"exporter", p.Exporter}, {"emulator", p.Emulator},
		{"postgres", p.Postgres}, {"alertmanager-2", p.Alertmanager2},
		{"alertmanager-gossip", p.AlertmanagerGossip}, {"alertmanager-2-gossip", p.Alertmanager2Gossip},
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// NamedPort is one component's port.
type NamedPort struct {
	Name string
	Port int
}

// PortsFile is where the ports are kept, inside the state dir.
func PortsFile(dir string) string { return filepath.Join(dir, "ports.json") }

// LoadPorts reads the ports kept in dir.
func LoadPorts(dir string) (Ports, error) {
	var p Ports
	b, err := os.ReadFile(PortsFile(dir))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%s: %w (delete it to choose new ports)", PortsFile(dir), err)
	}
	for _, np := range p.ByName() {
		if np.Port == 0 && laterPorts[np.Name] {
			continue // kept by a lab older than the component: EnsurePorts adds it
		}
		if np.Port <= 0 || np.Port > 65535 {
			return p, fmt.Errorf("%s: port of %s is %d (delete the file to choose new ports)", PortsFile(dir), np.Name, np.Port)
		}
	}
	return p, nil
}

// laterPorts are the components added after the first labs were brought
// up: a ports file without them is completed, not refused.
var laterPorts = map[string]bool{
	"postgres": true, "alertmanager-2": true, "alertmanager-gossip": true, "alertmanager-2-gossip": true,
}

// later are the fields of the components added later, for EnsurePorts.
func (p *Ports) later() []*int {
	return []*int{&p.Postgres, &p.Alertmanager2, &p.AlertmanagerGossip, &p.Alertmanager2Gossip}
}

// EnsurePorts returns the ports kept in dir, choosing free ones and keeping
// them when there are none yet. A file kept by an older lab gets the ports
// of the components added since, the others unchanged.
func EnsurePorts(dir string) (Ports, error) {
	p, err := LoadPorts(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return p, err
	}
	existing := err == nil
	missing := 0
	for _, f := range p.later() {
		if *f == 0 {
			missing++
		}
	}
	if existing && missing == 0 {
		return p, nil
	}
	// A second lab (VIGIL_LAB_STATE elsewhere) keeps off the default
	// lab's ports, even those of its components that are down right now.
	avoid := map[int]bool{}
	if other, err := LoadPorts(DefaultDir()); err == nil && filepath.Clean(DefaultDir()) != filepath.Clean(dir) {
		for _, np := range other.ByName() {
			avoid[np.Port] = true
		}
	}
	if existing {
		for _, np := range p.ByName() {
			avoid[np.Port] = true
		}
		free, err := freePorts(missing, avoid)
		if err != nil {
			return p, err
		}
		for _, f := range p.later() {
			if *f == 0 {
				*f, free = free[0], free[1:]
			}
		}
	} else {
		free, err := freePorts(14, avoid)
		if err != nil {
			return p, err
		}
		p = Ports{
			APIServer: free[0], Etcd: free[1], EtcdPeer: free[2], KwokController: free[3],
			ControllerManager: free[4], Scheduler: free[5], Prometheus: free[6],
			Alertmanager: free[7], Exporter: free[8], Emulator: free[9], Postgres: free[10],
			Alertmanager2: free[11], AlertmanagerGossip: free[12], Alertmanager2Gossip: free[13],
		}
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	return p, os.WriteFile(PortsFile(dir), append(b, '\n'), 0o644)
}

// freePorts asks the kernel for n distinct free loopback ports not in
// avoid, holding each open until all are chosen.
func freePorts(n int, avoid map[int]bool) ([]int, error) {
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 10*n {
			return nil, fmt.Errorf("choosing %d free loopback ports: the kernel keeps offering ports to avoid", n)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("choosing a free loopback port: %w", err)
		}
		defer l.Close()
		if port := l.Addr().(*net.TCPAddr).Port; !avoid[port] {
			ports = append(ports, port)
		}
	}
	return ports, nil
}
