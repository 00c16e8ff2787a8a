package config

import (
	"fmt"
	"regexp"
	"slices"
)

// Data names where each environment keeps its data, for the data refresh
// (`:refresh-data preprod from prod`, `vigil refresh-data`): a block-storage
// volume attached to a data host, in DigitalOcean.
type Data struct {
	// Playbook runs on the target's data host once the copy is attached
	// (a name in ansible.playbook_dir): it mounts the volume and scrubs the
	// personal data. It gets volume_name and mount_path as extra vars.
	Playbook     string            `yaml:"playbook"`
	Environments []DataEnvironment `yaml:"environments"`
}

// DataEnvironment is one environment's data.
type DataEnvironment struct {
	Name string `yaml:"name"`
	Host string `yaml:"host"` // the droplet the data volume is attached to
	// Volume names the data volume: the one attached to Host called so, or
	// a copy a refresh made (Volume-YYYYMMDD-HHMMSS).
	Volume string `yaml:"volume"`
	// Hook is the suspended CronJob run in the environment's namespace once
	// its data is refreshed, e.g. the schema migration (a promotion hook's
	// template); empty: none. It needs the environment in kubernetes.
	Hook string `yaml:"hook"`
}

// Env finds an environment's data by name.
func (d *Data) Env(name string) (DataEnvironment, bool) {
	i := slices.IndexFunc(d.Environments, func(e DataEnvironment) bool { return e.Name == name })
	if i < 0 {
		return DataEnvironment{}, false
	}
	return d.Environments[i], true
}

// MaxDataVolumeName leaves room for the suffix a refresh adds to a volume's
// name (-YYYYMMDD-HHMMSS) under DigitalOcean's 64 characters.
const MaxDataVolumeName = 48

var (
	volumeNameRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	dropletNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

func (v *validator) data(c *Config) {
	d := c.Data
	if c.DigitalOcean == nil {
		v.errorf("data", "needs the digitalocean section: the data volumes and hosts are droplets and volumes there")
	}
	if c.Ansible == nil {
		v.errorf("data", "needs the ansible section: the refresh runs data.playbook on the target's data host")
	}
	v.required("data.playbook", d.Playbook, "the playbook that mounts the refreshed volume and scrubs it, like scrub.yml")
	if len(d.Environments) < 2 {
		v.errorf("data.environments", "list at least two environments' data (a source and a target), like prod and preprod")
	}
	seen := map[string]int{}
	for i, e := range d.Environments {
		p := fmt.Sprintf("data.environments[%d]", i)
		if v.required(p+".name", e.Name, "the environment's name, like preprod") {
			if j, dup := seen[e.Name]; dup {
				v.errorf(p+".name", "environment %q is already data.environments[%d]: names must be unique", e.Name, j)
			}
			seen[e.Name] = i
		}
		if v.required(p+".host", e.Host, "the name of the droplet the data volume is attached to") && !dropletNameRe.MatchString(e.Host) {
			v.errorf(p+".host", "invalid droplet name %q: letters, digits, dots and dashes", e.Host)
		}
		if v.required(p+".volume", e.Volume, "the data volume's name, like prod-data") {
			if !volumeNameRe.MatchString(e.Volume) || len(e.Volume) > MaxDataVolumeName {
				v.errorf(p+".volume", "invalid volume name %q: lower-case letters, digits and -, starting with a letter, at most %d characters (a refresh adds -YYYYMMDD-HHMMSS)", e.Volume, MaxDataVolumeName)
			}
		}
		if e.Hook == "" {
			continue
		}
		if len(e.Hook) > maxCronJobName || !dnsSubdomain.MatchString(e.Hook) {
			v.errorf(p+".hook", "invalid CronJob name %q: use lower-case letters, digits, - and ., up to %d characters", e.Hook, maxCronJobName)
		}
		if k := c.Kubernetes; k == nil || !slices.ContainsFunc(k.Environments, func(ke Environment) bool { return ke.Name == e.Name }) {
			v.errorf(p+".hook", "the hook runs in the environment's namespace, but %q is not in kubernetes.environments: add it there or remove the hook", e.Name)
		}
	}
}
