package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

// newExecCmd is `vigil exec CMD --hosts a,b | --tag T`: run a shell
// command on hosts with Ansible (ad-hoc), as `:exec` does in the console.
func newExecCmd(g *globals) *cobra.Command {
	var (
		hosts   []string
		tag     string
		group   string
		timeout time.Duration
		asJSON  bool
		yes     *bool
	)
	cmd := &cobra.Command{
		Use:   "exec CMD (--hosts A,B | --tag T | --group G)",
		Short: "Run a shell command on hosts with Ansible and show each host's exit code, stdout and stderr",
		Long: "vigil exec runs CMD with the host's shell on each host named (Ansible ad-hoc, the shell module),\n" +
			"with the inventory, user, key and known_hosts of playbook runs: a host whose SSH key changed is\n" +
			"refused, and a host a playbook run holds is refused until that run ends. Each host's exit code,\n" +
			"stdout and stderr are shown once all are done. It is journaled with CMD as typed (keep secrets\n" +
			"out of it: read them from a file on the host); it asks to confirm on a terminal, elsewhere pass\n" +
			"--yes. Quote CMD, or put it after --.\n\n" +
			"Exit codes: 0 the command succeeded everywhere, 1 it failed on some host (or could not run),\n" +
			"2 bad arguments, 3 refused (role, --read-only, a busy host, or not confirmed).",
		Example: "  vigil exec uptime --hosts web-01,web-02\n  vigil exec 'systemctl restart nginx' --tag web --yes\n  vigil exec --tag web -- df -h /",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := playbook.ExecRequest{Command: strings.Join(args, " "), Timeout: timeout}
			switch {
			case len(hosts) > 0 && tag == "" && group == "":
				req.Target = playbook.Target{Kind: playbook.TargetHosts, Hosts: hosts}
			case len(hosts) == 0 && tag != "" && group == "":
				req.Target = playbook.Target{Kind: playbook.TargetTag, Name: tag}
			case len(hosts) == 0 && tag == "" && group != "":
				req.Target = playbook.Target{Kind: playbook.TargetGroup, Name: group}
			default:
				return &exitCodeError{code: 2, msg: "name the hosts with one of --hosts, --tag or --group"}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.DigitalOcean == nil || cfg.Ansible == nil {
				return fmt.Errorf("%s needs digitalocean and ansible sections: the hosts come from DigitalOcean, the command runs with Ansible (vigil config init writes an example)", g.configName())
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
			history, err := openHistory(cfg)
			if err != nil {
				return err
			}
			defer history.Close()
			cloud, err := cloudClient(cfg.DigitalOcean, nil)
			if err != nil {
				return err
			}
			guard := g.guard(journal)
			keys := hostKeys(cfg)
			inv := inventory.New(cloud, journal, inventory.Options{Guard: guard, HostKeys: keys})
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			rctx, rcancel := context.WithTimeout(ctx, time.Minute)
			err = inv.Refresh(rctx)
			rcancel()
			if err != nil {
				return err
			}
			a := cfg.Ansible
			runs, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, journal, history, playbook.Options{
				Guard: guard, PlaybookDir: a.PlaybookDir, Inventory: inventoryOptions(a), HostKeys: keys,
				Hosts:     func() []inventory.Host { return inv.State().Hosts },
				HostLocks: hostLocks(ctx, cfg.Kubernetes), Bastion: wiring{}.bastion(),
			})
			if err != nil {
				return err
			}
			c, err := runs.ExecConfirmation(req)
			if err != nil {
				return err
			}
			if err := newConfirmer(cmd, g, actor, journal, *yes).confirm(c); err != nil {
				return &exitCodeError{code: 3, msg: err.Error()}
			}
			e, err := runs.Exec(ctx, actor, req)
			if access.IsRefusal(err) {
				return &exitCodeError{code: 3, msg: err.Error()}
			}
			if len(e.Results) > 0 {
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					if jerr := enc.Encode(e); jerr != nil {
						return jerr
					}
				} else {
					writeExec(cmd.OutOrStdout(), e)
				}
			}
			if errors.Is(err, playbook.ErrExecFailed) {
				return &exitCodeError{code: 1, msg: err.Error()}
			}
			return err
		},
	}
	cmd.Flags().StringSliceVar(&hosts, "hosts", nil, "host names, comma separated")
	cmd.Flags().StringVar(&tag, "tag", "", "every host carrying this tag")
	cmd.Flags().StringVar(&group, "group", "", "every host of this inventory group (region_fra1, size_s_1vcpu_1gb, …)")
	cmd.Flags().DurationVar(&timeout, "timeout", playbook.DefaultExecTimeout, "bound on the command on each host")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON")
	yes = yesFlag(cmd)
	return cmd
}

// writeExec prints each host's outcome: a header with its exit code, then
// its stdout and stderr, indented.
func writeExec(w io.Writer, e playbook.Exec) {
	for i, r := range e.Results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		head := fmt.Sprintf("%s: rc %d", r.Host, r.RC)
		switch r.Status {
		case playbook.StatusUnreachable:
			head = r.Host + ": unreachable"
		case playbook.StatusFailed:
			if r.RC == -1 {
				head = r.Host + ": failed"
			}
		}
		if r.Msg != "" && (r.Status != playbook.StatusFailed || r.RC == -1) {
			head += " (" + r.Msg + ")"
		}
		if r.Truncated {
			head += fmt.Sprintf(" [output cut to its last %d KiB]", playbook.MaxOutput>>10)
		}
		fmt.Fprintln(w, head)
		for _, out := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
			if out.text == "" {
				continue
			}
			fmt.Fprintf(w, "  %s:\n", out.name)
			for _, line := range strings.Split(strings.TrimRight(out.text, "\n"), "\n") {
				fmt.Fprintln(w, "    "+line)
			}
		}
	}
}
