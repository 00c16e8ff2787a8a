package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/playbook"
)

// newInventoryCmd is `vigil inventory`: Ansible's dynamic inventory script
// protocol (--list, --host NAME) and Prometheus file_sd targets, from the
// cloud's hosts as they are now.
func newInventoryCmd(g *globals) *cobra.Command {
	var (
		list     bool
		host, sd string
	)
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Print the hosts as an Ansible dynamic inventory, or write Prometheus file_sd targets",
		Long: "With --list or --host NAME, vigil is an Ansible dynamic inventory script: groups from tags,\n" +
			"regions and sizes, ansible_host = public IPv4. With --prometheus-sd FILE it writes one node\n" +
			"exporter target per host, labelled with its name, region, size and tags.",
		Example: "  ansible-inventory -i vigil-inventory.sh --list   # vigil-inventory.sh: exec vigil inventory \"$@\"\n" +
			"  vigil inventory --host web-01\n" +
			"  vigil inventory --prometheus-sd /etc/prometheus/file_sd/vigil.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, on := range []bool{list, host != "", sd != ""} {
				if on {
					n++
				}
			}
			if n != 1 {
				return usageError("give exactly one of --list, --host NAME or --prometheus-sd FILE: see vigil inventory --help")
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.DigitalOcean == nil {
				return fmt.Errorf("%s has no digitalocean section: the inventory comes from DigitalOcean (vigil config init writes an example)", g.configName())
			}
			cloud, err := cloudClient(cfg.DigitalOcean, nil)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			if sd != "" {
				count, err := playbook.WritePrometheusSD(ctx, cloud, sd)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d targets to %s\n", count, sd)
				return nil
			}
			return playbook.WriteInventory(ctx, cmd.OutOrStdout(), cloud, inventoryOptions(cfg.Ansible), host)
		},
	}
	cmd.AddCommand(newTrustKeyCmd(g))
	f := cmd.Flags()
	f.BoolVar(&list, "list", false, "print every group and host variable (Ansible's --list)")
	f.StringVar(&host, "host", "", "print one host's variables (Ansible's --host)")
	f.StringVar(&sd, "prometheus-sd", "", "write Prometheus file_sd targets to `FILE`, atomically")
	return cmd
}
