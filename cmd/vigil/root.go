package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/app"
)

// globals are the persistent flags every command shares.
type globals struct {
	configPath string
	theme      string
	readOnly   bool
	logFile    string
	// sshAddr is vigil serve's SSH address, part of its bastion name
	// (bastionName); empty in the console and the other commands.
	sshAddr string
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "vigil",
		Short: "A terminal operations console for on-call administrators",
		Long: "vigil provisions, configures, deploys and supervises from one keyboard-driven console.\n" +
			"Run without arguments to open the console.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConsole(g)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	f := root.PersistentFlags()
	f.StringVar(&g.configPath, "config", "", "config file (default $VIGIL_CONFIG, else $XDG_CONFIG_HOME/vigil/config.yaml)")
	f.StringVar(&g.theme, "theme", "", "colour theme, overriding the config's (built-in or from $XDG_CONFIG_HOME/vigil/themes)")
	f.BoolVar(&g.readOnly, "read-only", false, "open the console with every mutating action disabled")
	f.StringVar(&g.logFile, "log-file", "", "log file (default $XDG_STATE_HOME/vigil/vigil.log)")
	root.AddCommand(newVersionCmd(), newConfigCmd(g), newAuditCmd(g), newStoreCmd(g), newServeCmd(g))
	root.AddCommand(newInventoryCmd(g))
	root.AddCommand(newStatusCmd(g), newPromoteCmd(g), newRollbackCmd(g), newPrepareCmd(g))
	root.AddCommand(newExecCmd(g), newCheckCmd(g))
	root.AddCommand(newAlertsCmd(g), newAckCmd(g), newUnackCmd(g), newIncidentCmd(g), newHandoverCmd(g))
	root.AddCommand(newLogsCmd(g), newRuleCmd(g))
	root.AddCommand(newQueryCmd(g))
	root.AddCommand(newRunbookCmd(g))
	root.AddCommand(newRefreshDataCmd(g))
	root.SetFlagErrorFunc(flagUsage) // inherited by every command
	usageExits(root)
	return root
}

// usageExits makes every bad command line of cmd and its subcommands exit
// 2, as README says: wrong arguments, an unknown command (the root's
// arguments), missing required flags. cobra checks required flags after
// the arguments, with a plain error; here they are checked with them.
func usageExits(cmd *cobra.Command) {
	check := cmd.Args
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		var err error
		if check != nil {
			err = check(cmd, args)
		}
		if err == nil {
			err = cmd.ValidateRequiredFlags()
		}
		if err == nil {
			err = cmd.ValidateFlagGroups()
		}
		var coded *exitCodeError
		if err == nil || errors.As(err, &coded) {
			return err
		}
		return usageError("%v: see %s --help", err, cmd.CommandPath())
	}
	for _, c := range cmd.Commands() {
		usageExits(c)
	}
}

// loadConfig reads the config the flags and environment point at. A file
// named by --config or $VIGIL_CONFIG must exist; the default path may be
// absent, and then the defaults apply.
func (g *globals) loadConfig() (*config.Config, error) {
	path := config.Resolve(g.configPath)
	explicit := g.configPath != "" || os.Getenv("VIGIL_CONFIG") != ""
	return config.LoadOrDefault(path, explicit)
}

// configName names the config file in messages, even when it is absent
// and only defaults apply.
func (g *globals) configName() string {
	path := config.Resolve(g.configPath)
	if _, err := os.Stat(path); err != nil {
		return "the config (" + path + ", absent)"
	}
	return path
}

// runConsole opens the interactive console. It writes nothing to stdout
// but the TUI itself: logs go to the log file, errors are returned and
// printed on stderr once the terminal is restored.
func runConsole(g *globals) error {
	logPath := g.logFile
	if logPath == "" {
		logPath = filepath.Join(stateDir(), "vigil", "vigil.log")
	}
	logf, err := openLog(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	slog.SetDefault(slog.New(slog.NewTextHandler(logf, nil)))

	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if err := keysError(cfg); err != nil {
		return err
	}
	actor, err := localActor(cfg.Identity)
	if err != nil {
		return fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := openBackend(ctx, g, cfg, slog.Default(), nil)
	if err != nil {
		return err
	}
	defer b.close()

	slog.Info("console starting", "config", cfg.Path, "actor", actor.Name, "role", actor.Role,
		"theme", b.theme.Name, "read_only", g.readOnly, "version", currentBuild().Version)
	model := app.New(app.Options{
		Config:   cfg,
		Theme:    b.theme,
		ThemeDir: b.themeDir,
		Actor:    actor,
		Guard:    b.guard,
		Journal:  b.journal,
		Services: b.services,
		NoColor:  os.Getenv("NO_COLOR") != "",
		Now:      time.Now,
		Notice:   b.notice,
	})
	_, err = tea.NewProgram(model).Run()
	model.Close()
	if err != nil {
		slog.Error("console stopped", "err", err)
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == "/dev/tty" {
			return fmt.Errorf("the console needs a terminal and there is none (%v): run vigil in an interactive terminal; its subcommands (vigil --help) work without one", pe.Err)
		}
		return fmt.Errorf("console: %w", err)
	}
	slog.Info("console stopped")
	return nil
}

// localActor is the person running the console by hand; config has
// already filled in and validated the identity.
func localActor(id config.Identity) (access.Actor, error) {
	role, err := access.ParseRole(id.Role)
	if err != nil {
		return access.Actor{}, err
	}
	return access.Actor{Name: id.Name, Role: role, Source: "local"}, nil
}

// stateDir is $XDG_STATE_HOME, or ~/.local/state when it is unset or not absolute.
func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vigil-state")
	}
	return filepath.Join(home, ".local", "state")
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the log directory: %w (choose another with --log-file)", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("cannot write the log file %s: permission denied (choose another with --log-file)", path)
		}
		return nil, fmt.Errorf("cannot open the log file: %w (choose another with --log-file)", err)
	}
	return f, nil
}
