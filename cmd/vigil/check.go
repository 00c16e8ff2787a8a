package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
)

// newCheckCmd is `vigil check HOST PORT`: whether the firewalls allow the
// port from the bastion, and whether it answers from here.
func newCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check HOST PORT",
		Short: "Say whether the firewalls allow a host's TCP port from the bastion, and whether it answers",
		Long: "vigil reads the firewalls covering HOST and says whether one of their rules allows tcp PORT from\n" +
			"the bastion (digitalocean.network.bastion), naming the rule or saying why not, then tries the\n" +
			"port from this machine.\n\n" +
			"Exit codes: 0 open (allowed and answers), 1 closed or failed, 2 bad arguments.",
		Example: "  vigil check web-01 443\n  vigil check db-01 5432",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port, err := strconv.Atoi(args[1])
			if err != nil || port < 1 || port > 65535 {
				return usageError("port %q: write a TCP port from 1 to 65535", args[1])
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.DigitalOcean == nil {
				return fmt.Errorf("%s has no digitalocean section: the hosts and firewalls come from DigitalOcean (vigil config init writes an example)", g.configName())
			}
			cloud, err := cloudClient(cfg.DigitalOcean, nil)
			if err != nil {
				return err
			}
			inv := inventory.New(cloud, nil, inventory.Options{Guard: access.Guard{ReadOnly: true}})
			opt := network.OptionsFrom(cfg.DigitalOcean.Network)
			opt.Guard = access.Guard{ReadOnly: true}
			opt.Hosts = func() []inventory.Host { return inv.State().Hosts }
			// Check journals nothing: it only reads.
			net := network.New(cloud, nil, opt)
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			if err := errors.Join(inv.Refresh(ctx), net.Refresh(ctx)); err != nil {
				return err
			}
			r, err := net.Check(ctx, args[0], port)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r.Verdict())
			if !r.Allowed || !r.Answers {
				return &exitCodeError{code: 1, msg: "closed"}
			}
			return nil
		},
	}
}
