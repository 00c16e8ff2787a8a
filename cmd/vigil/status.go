package main

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

// cliSyncTimeout bounds how long a verb waits for the clusters' caches.
const cliSyncTimeout = 30 * time.Second

// releaseCLI is what the release verbs open: the started service, the
// local actor, and a close func.
type releaseCLI struct {
	svc     *release.Service
	actor   access.Actor
	journal recorder // nil without a journal
	close   func()
	// alertsErr says why the firing alerts could not be read: the
	// health shown then ignores them.
	alertsErr error
}

// openReleaseCLI starts the release service for one verb. With journal
// set, mutations are journaled to the config's audit journal. check, when
// set, refuses the verb's names before any cluster is asked.
func openReleaseCLI(ctx context.Context, g *globals, journal bool, check func(*config.Config, string) error) (*releaseCLI, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Kubernetes == nil {
		return nil, fmt.Errorf("%s has no kubernetes section: add one with the environments (vigil config init writes an example)", g.configName())
	}
	if check != nil {
		if err := check(cfg, g.configName()); err != nil {
			return nil, err
		}
	}
	actor, err := localActor(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
	}
	w := wiring{cfg: cfg, guard: access.Guard{ReadOnly: g.readOnly}, log: slog.New(slog.DiscardHandler)}
	closeJournal := func() {}
	if journal {
		if w.journal, err = openWritableJournal(cfg.Audit); err != nil {
			return nil, err
		}
		closeJournal = func() { w.journal.Close() }
	}
	ctx, cancel := context.WithCancel(ctx)
	svc, _, err := newRelease(ctx, w)
	if err != nil {
		cancel()
		closeJournal()
		return nil, err
	}
	sctx, stop := context.WithTimeout(ctx, cliSyncTimeout)
	defer stop()
	started := make(chan error, 1)
	go func() { started <- svc.Start(ctx) }()
	select {
	case err = <-started:
	case <-sctx.Done():
		err = fmt.Errorf("the clusters did not answer within %s", cliSyncTimeout)
	}
	if err != nil {
		cancel()
		closeJournal()
		return nil, fmt.Errorf("cannot read the environments: %w; check that the API servers of kubernetes.kubeconfig are reachable", err)
	}
	alertsErr := followAlertsCLI(ctx, w, svc)
	r := &releaseCLI{svc: svc, actor: actor, alertsErr: alertsErr, close: func() { cancel(); closeJournal() }}
	if w.journal != nil {
		r.journal = w.journal
	}
	return r, nil
}

// cliAlertsTimeout bounds the one poll of the alerts a release verb makes.
const cliAlertsTimeout = 5 * time.Second

// followAlertsCLI polls the configured alert sources once, so that the
// verb weighs the alerts firing on the workloads as the console does
// (status shows them; promote warns of them). An unreachable source is
// returned as the error, and the verb goes on with what the others say.
func followAlertsCLI(ctx context.Context, w wiring, svc *release.Service) error {
	inc, err := newIncidentWith(w, noJournal{}, nil)
	if err != nil || inc == nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, cliAlertsTimeout)
	inc.Refresh(pctx)
	cancel()
	svc.FollowAlerts(ctx, inc)
	snap := inc.Snapshot()
	for _, src := range []struct {
		name string
		st   incident.SourceStatus
	}{{"prometheus", snap.Prometheus}, {"alertmanager", snap.Alertmanager}} {
		if src.st.Configured && src.st.Err != nil {
			return fmt.Errorf("%s: %w", src.name, src.st.Err)
		}
	}
	return nil
}

// appName is what Kubernetes accepts as a Deployment or StatefulSet name
// (an RFC 1123 subdomain).
var appName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// names checks a release verb's app (if any) and environments ("" for a
// flag left out) against the config: a bad command line, not a question
// for the clusters.
func names(app string, envs ...string) func(*config.Config, string) error {
	return func(cfg *config.Config, file string) error {
		if app != "" && (len(app) > 253 || !appName.MatchString(app)) {
			return usageError("invalid app name %q: an app is a Deployment or StatefulSet name, in lower-case letters, digits, - and .", app)
		}
		known := make([]string, len(cfg.Kubernetes.Environments))
		for i, e := range cfg.Kubernetes.Environments {
			known[i] = e.Name
		}
		for _, e := range envs {
			if e != "" && !slices.Contains(known, e) {
				return usageError("unknown environment %q: %s lists %s", e, file, strings.Join(known, ", "))
			}
		}
		return nil
	}
}

// exitCodeError ends a verb with an exit code other than 1; msg, when
// set, is printed on stderr (otherwise the verb printed its outcome).
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// usageError is a bad command line (exit 2).
func usageError(format string, args ...any) error {
	return &exitCodeError{code: release.ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// releaseArgs checks a release verb's command line: one app, and the flag
// that names the environment.
func releaseArgs(usage, flag string, value *string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError("%s takes one app: vigil %s", cmd.Name(), usage)
		}
		if *value == "" {
			return usageError("%s needs --%s: vigil %s", cmd.Name(), flag, usage)
		}
		return nil
	}
}

// flagUsage makes a bad flag exit 2.
func flagUsage(cmd *cobra.Command, err error) error {
	return usageError("%v: see %s --help", err, cmd.CommandPath())
}

// exitCode ends a verb with code (release.Exit…).
func exitCode(code int) error {
	if code == release.ExitOK {
		return nil
	}
	return &exitCodeError{code: code}
}

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the release matrix: each app's version and health in every environment",
		Long: "Print the release matrix: each app's version, available/desired replicas and health in every\n" +
			"environment of the pipeline, with drift from the environment before it.",
		Example: "  vigil status\n  vigil status --json | jq '.apps[].app'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openReleaseCLI(cmd.Context(), g, false, nil)
			if err != nil {
				return err
			}
			defer r.close()
			if r.alertsErr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil status: alerts not weighed in the health shown: %v\n", r.alertsErr)
			}
			return r.svc.WriteStatus(cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the matrix as JSON")
	return cmd
}
