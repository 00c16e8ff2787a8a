package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/refresh"
)

// refreshDir is where the refreshes' state files live: beside the journal.
func refreshDir(cfg *config.Config) string { return filepath.Dir(cfg.Audit.Path) }

// newRefreshService wires the refresh over an inventory and playbook
// service (the console's, or the CLI's own).
func newRefreshService(ctx context.Context, cfg *config.Config, guard access.Guard, journal refresh.Journal, cloud refresh.Cloud, storage inventory.Storage, runs *playbook.Service) (*refresh.Service, error) {
	opt := refresh.Options{Guard: guard, Dir: refreshDir(cfg)}
	if k := cfg.Kubernetes; k != nil {
		opt.Hooks = refresh.ReleaseHooks{Hooks: kubernetes.New(ctx, k.Kubeconfig), Environments: k.Environments}
	}
	var books refresh.Playbooks
	if runs != nil {
		books = refresh.PlaybookService{Svc: runs}
	}
	return refresh.New(cfg.Data, cloud, storage, books, journal, opt)
}

// newRefreshDataCmd is `vigil refresh-data --env preprod --from prod`, as
// `:refresh-data preprod from prod` in the console.
func newRefreshDataCmd(g *globals) *cobra.Command {
	var (
		env, from, deleteOld string
		status               bool
		yes                  *bool
	)
	cmd := &cobra.Command{
		Use:   "refresh-data --env TARGET --from SOURCE",
		Short: "Refresh an environment's data from another's: snapshot, copy, swap the volumes, scrub, run the hook",
		Long: "vigil refresh-data copies SOURCE's data volume into TARGET (config data.environments) in six steps:\n" +
			"1 snapshot SOURCE's data volume, 2 create a volume from it in the region, 3 detach TARGET's old\n" +
			"volume (kept), 4 attach the new one to TARGET's data host, 5 run data.playbook there to mount and\n" +
			"scrub it, 6 run TARGET's hook. Each step is journaled. When a step fails, or vigil is killed, run\n" +
			"the same command again: it resumes at that step, and never takes a second snapshot or volume.\n" +
			"It detaches TARGET's data, so it asks to type TARGET's name on a terminal (elsewhere pass --yes).\n" +
			"--status shows where the last refresh of TARGET is; --delete-old NAME deletes an old volume a\n" +
			"refresh kept, once its name is typed.\n\n" +
			"Exit codes: 0 done, 1 a step failed (run again to resume), 2 bad arguments, 3 refused.",
		Example: "  vigil refresh-data --env preprod --from prod\n  vigil refresh-data --env preprod --status\n  vigil refresh-data --env preprod --delete-old preprod-data",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" || (from == "" && !status && deleteOld == "") {
				return &exitCodeError{code: 2, msg: "name the target with --env and the source with --from (or --status, --delete-old)"}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Data == nil || cfg.DigitalOcean == nil || cfg.Ansible == nil {
				return fmt.Errorf("%s needs data, digitalocean and ansible sections: data names each environment's data host and volume (vigil config init writes an example)", g.configName())
			}
			// Names are checked before any request: a typo exits 2 at once.
			for _, name := range []string{env, from} {
				if _, ok := cfg.Data.Env(name); name != "" && !ok {
					return &exitCodeError{code: 2, msg: fmt.Sprintf("unknown environment %q: %s lists %s under data.environments", name, cfg.Path, strings.Join(dataEnvNames(cfg.Data), ", "))}
				}
			}
			if env == from {
				return &exitCodeError{code: 2, msg: "--env and --from name the same environment: refresh one environment from another"}
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
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			cloud, err := cloudClient(cfg.DigitalOcean, nil)
			if err != nil {
				return err
			}
			guard := g.guard(journal)
			out := cmd.OutOrStdout()
			if status {
				svc, err := newRefreshService(ctx, cfg, guard, journal, cloud, cloud, nil)
				if err != nil {
					return err
				}
				st, err := svc.Load(env)
				if err != nil {
					return err
				}
				if st == nil {
					fmt.Fprintf(out, "no refresh of %s yet\n", env)
					return nil
				}
				writeRefresh(out, st)
				return nil
			}
			history, err := playbook.OpenHistory(historyPath(cfg))
			if err != nil {
				return err
			}
			defer history.Close()
			keys := hostKeys(cfg)
			inv := inventory.New(cloud, journal, inventory.Options{Guard: guard, HostKeys: keys, Storage: cloud})
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
			svc, err := newRefreshService(ctx, cfg, guard, journal, cloud, cloud, runs)
			if err != nil {
				return err
			}
			confirm := newConfirmer(cmd, g, actor, journal, *yes)
			if deleteOld != "" {
				if err := confirm.confirm(refresh.DeleteConfirmation(env, deleteOld)); err != nil {
					return &exitCodeError{code: 3, msg: err.Error()}
				}
				err := svc.DeleteOldVolume(ctx, actor, env, deleteOld)
				if access.IsRefusal(err) {
					return &exitCodeError{code: 3, msg: err.Error()}
				}
				if err == nil {
					fmt.Fprintf(out, "deleted %s\n", deleteOld)
				}
				return err
			}
			st, err := svc.Plan(ctx, env, from)
			if err != nil {
				return err
			}
			resuming := len(st.Runs) > 0
			if resuming {
				fmt.Fprintf(out, "resuming refresh %s of %s from %s at step %d/%d (%s)\n", st.ID, env, from, st.Next, refresh.NumSteps, st.Next.Name())
			} else {
				fmt.Fprintf(out, "refresh %s of %s from %s:\n", st.ID, env, from)
				for s := refresh.StepSnapshot; int(s) <= refresh.NumSteps; s++ {
					fmt.Fprintf(out, "  %d. %s\n", s, st.Describe(s))
				}
				if err := confirm.confirm(refresh.Confirmation(st)); err != nil {
					return &exitCodeError{code: 3, msg: err.Error()}
				}
			}
			last, before := refresh.Step(0), len(st.Runs)
			st, err = svc.Run(ctx, actor, st, func(x refresh.State) {
				n := len(x.Runs)
				if n <= before { // an earlier run's attempts
					return
				}
				r := x.Runs[n-1]
				switch {
				case r.Ended.IsZero() && r.Step != last:
					last = r.Step
					fmt.Fprintf(out, "step %d/%d: %s…\n", r.Step, refresh.NumSteps, x.Describe(r.Step))
				case !r.Ended.IsZero() && r.Err == "":
					note := ""
					if r.Note != "" {
						note = " (" + r.Note + ")"
					}
					fmt.Fprintf(out, "step %d/%d: done in %s%s\n", r.Step, refresh.NumSteps, r.Took().Round(time.Millisecond), note)
				}
			})
			if access.IsRefusal(err) {
				return &exitCodeError{code: 3, msg: err.Error()}
			}
			if err != nil {
				return &exitCodeError{code: 1, msg: err.Error()}
			}
			fmt.Fprintf(out, "%s; old volume kept: %s (delete it with --delete-old NAME once the new data is trusted)\n", st.Status(), oldNames(st))
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment whose data is replaced (the target)")
	cmd.Flags().StringVar(&from, "from", "", "the environment whose data is copied (the source)")
	cmd.Flags().BoolVar(&status, "status", false, "show the last refresh of --env and where it is")
	cmd.Flags().StringVar(&deleteOld, "delete-old", "", "delete this old data volume of --env that a refresh detached and kept")
	yes = yesFlag(cmd)
	return cmd
}

func dataEnvNames(d *config.Data) []string {
	out := make([]string, len(d.Environments))
	for i, e := range d.Environments {
		out[i] = e.Name
	}
	return out
}

func oldNames(st *refresh.State) string {
	if len(st.OldVolumes) == 0 {
		return "none"
	}
	s := ""
	for i, v := range st.OldVolumes {
		if i > 0 {
			s += ", "
		}
		s += v.Name
	}
	return s
}

// writeRefresh prints a refresh's steps with their outcome and time.
func writeRefresh(w io.Writer, st *refresh.State) {
	fmt.Fprintf(w, "refresh %s of %s from %s by %s: %s\n", st.ID, st.Target, st.Source, st.Actor, st.Status())
	for s := refresh.StepSnapshot; int(s) <= refresh.NumSteps; s++ {
		mark := "  "
		r, ok := st.Last(s)
		switch {
		case s < st.Next:
			mark = "✓ "
		case ok && r.Err != "":
			mark = "✗ "
		case ok:
			mark = "… "
		}
		line := fmt.Sprintf("%s%d. %s", mark, s, st.Describe(s))
		if ok && !r.Ended.IsZero() {
			line += fmt.Sprintf(" (%s)", r.Took().Round(time.Millisecond))
		}
		if ok && r.Err != "" {
			line += ": " + r.Err
		}
		fmt.Fprintln(w, line)
	}
}

var _ refresh.Journal = (*audit.Journal)(nil)
