package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
)

// newTrustKeyCmd is `vigil inventory trust-key NAME`: accept the SSH host
// key a host presents now, after vigil refused a run on it because its key
// changed. Admins only, journaled.
func newTrustKeyCmd(g *globals) *cobra.Command {
	var yes *bool
	cmd := &cobra.Command{
		Use:   "trust-key NAME",
		Short: "Accept the SSH host key a host presents now in place of the recorded one (admins)",
		Long: "vigil keeps the SSH host keys of its hosts in known_hosts beside the audit journal: recorded\n" +
			"when vigil creates a host, or on first contact. A run on a host whose key changed is refused.\n" +
			"If the host was rebuilt, an admin accepts its new key with this command; it is journaled with\n" +
			"the old and new fingerprints. vigil asks to confirm on a terminal; elsewhere pass --yes.\n\n" +
			"Exit codes: 0 accepted, 1 failed, 2 bad arguments, 3 refused (role, --read-only, or not\n" +
			"confirmed: a wrong answer, or no terminal and no --yes).",
		Example: "  vigil inventory trust-key web-01\n  vigil inventory trust-key web-01 --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.DigitalOcean == nil {
				return fmt.Errorf("%s has no digitalocean section: the hosts come from DigitalOcean (vigil config init writes an example)", g.configName())
			}
			actor, err := localActor(cfg.Identity)
			if err != nil {
				return fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
			}
			journal, err := openWritableJournal(cfg.Audit)
			if err != nil {
				return err
			}
			defer journal.Close()
			cloud, err := cloudClient(cfg.DigitalOcean, nil)
			if err != nil {
				return err
			}
			inv := inventory.New(cloud, journal, inventory.Options{Guard: g.guard(journal), HostKeys: hostKeys(cfg)})
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			err = inv.Refresh(ctx)
			cancel()
			if err != nil {
				return err
			}
			// The minute of TrustKey starts once the person has answered.
			if c, ok := inv.TrustKeyConfirmation(args[0]); ok {
				err = newConfirmer(cmd, g, actor, journal, *yes).confirm(c)
			}
			var k inventory.HostKey
			if err == nil {
				ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
				defer cancel()
				k, err = inv.TrustKey(ctx, actor, args[0])
			}
			if access.IsRefusal(err) {
				return &exitCodeError{code: 3, msg: err.Error()}
			}
			if err != nil {
				return err
			}
			was := "none recorded before"
			if k.Previous != "" {
				was = "replaces " + k.Previous
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trusted the SSH host key of %s (%s): %s (%s)\n", args[0], k.Addr, k.Fingerprint, was)
			return nil
		},
	}
	yes = yesFlag(cmd)
	return cmd
}
