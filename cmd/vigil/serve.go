package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/serve"
)

// newServeCmd is `vigil serve`: the console over SSH for the users listed
// in the config's serve section.
func newServeCmd(g *globals) *cobra.Command {
	var listen, httpListen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the console over SSH to the users of the config's serve section",
		Long: "vigil serve lets several administrators use the console at once over SSH.\n" +
			"Each user in serve.users logs in with one of their public keys; the journal\n" +
			"names them and their key. SIGTERM or SIGINT stops the server gracefully:\n" +
			"sessions are told, and actions in progress finish first.",
		Example: "  vigil serve\n" +
			"  vigil serve --listen 0.0.0.0:2222\n" +
			"  ssh -t -p 2222 alice@bastion",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, g, listen, httpListen, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "SSH address, overriding serve.listen (default 127.0.0.1:2222)")
	cmd.Flags().StringVar(&httpListen, "http-listen", "", "address of /healthz, /metrics and the webhook, overriding serve.http_listen (default 127.0.0.1:9464)")
	return cmd
}

func runServe(ctx context.Context, g *globals, listen, httpListen string, stderr io.Writer) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Serve == nil {
		return fmt.Errorf("%s has no serve section: add serve.users (name, role and public keys) to serve the console over SSH (`vigil config init` writes an example)", g.configName())
	}
	opts := *cfg.Serve
	if listen != "" {
		opts.Listen = listen
	}
	if httpListen != "" {
		opts.HTTPListen = httpListen
	}
	if opts.HostKey == "" {
		opts.HostKey = filepath.Join(stateDir(), "vigil", "host_ed25519")
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if g.logFile != "" {
		logf, err := openLog(g.logFile)
		if err != nil {
			return err
		}
		defer logf.Close()
		logger = slog.New(slog.NewTextHandler(logf, nil))
	}
	slog.SetDefault(logger)

	// The metrics come first: the integrations the backend builds count
	// their requests into them.
	metrics := serve.NewMetrics()
	// The locks this vigil takes name it as presence does, when its port
	// is known before it listens (not with port 0).
	if _, port, err := net.SplitHostPort(opts.Listen); err == nil && port != "0" {
		g.sshAddr = opts.Listen
	}
	b, err := openBackend(ctx, g, cfg, logger, metrics)
	if err != nil {
		return err
	}
	defer b.close()
	// Every action of every session is journaled: a journal that cannot
	// take them stops the server before anyone logs in.
	if err := b.journal.Writable(); err != nil {
		return fmt.Errorf("vigil serve does not start: %w", err)
	}

	// With the shared journal, presence is shared too, once the server's
	// address (part of its bastion name) is known.
	var pres *presence.Registry
	if b.journal.Shared() {
		pres = presence.New(time.Now)
	}
	srv, err := serve.Listen(serve.Options{
		Serve: opts,
		Services: serve.Services{
			Config:   cfg,
			Presence: pres,
			Journal:  b.journal,
			Guard:    b.guard,
			Ops:      b.services,
			Webhook:  incidentWebhook(b.services),
			Theme:    b.theme,
			ThemeDir: b.themeDir,
			Now:      time.Now,
		},
		Logger:  logger,
		Metrics: metrics,
	})
	if err != nil {
		return err
	}
	if pres != nil {
		defer sharePresence(pres, b.journal, srv.Addr().String(), stderr)()
	}
	fmt.Fprintf(stderr, "vigil serve: ssh on %s, /healthz and /metrics on http://%s (version %s)\n",
		srv.Addr(), srv.HTTPAddr(), currentBuild().Version)
	err = srv.Serve(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(stderr, "vigil serve: stopped")
	return nil
}
