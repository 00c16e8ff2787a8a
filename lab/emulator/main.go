package emulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vigilops/vigil/lab/hosts"
)

// Main runs the emulator as a command until SIGTERM or SIGINT, then stops
// every host it started.
func Main(args []string) error {
	fs := flag.NewFlagSet("do-emulator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve the API on")
	stateDir := fs.String("state-dir", "", "directory for the emulator's state and the droplets' hosts (required)")
	token := fs.String("token", "", "bearer token API clients must send (required)")
	pubkey := fs.String("ssh-pubkey", "", "OpenSSH public key file registered as the lab key and authorized on every droplet")
	fileSD := fs.String("file-sd", "", "Prometheus file_sd JSON file to keep up to date with the droplets")
	noHosts := fs.Bool("no-hosts", false, "do not run sshd and a node exporter per droplet")
	maxHosts := fs.Int("max-hosts", 20, "most droplets allowed while hosts run (each costs about 25 MB)")
	ipBase := fs.String("ip-base", "127.0.10", "loopback prefix for droplet addresses")
	delay := fs.Duration("action-delay", 1500*time.Millisecond, "how long droplet actions stay in-progress")
	rate := fs.Int("rate-limit", 5000, "API requests allowed per token and rate window")
	window := fs.Duration("rate-window", time.Hour, "rate-limit window")
	filter := fs.String("firewalls", "auto", "make firewalls real on the droplets' addresses: nftables, off, or auto (nftables when nft works here and hosts run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stateDir == "" || *token == "" {
		return errors.New("--state-dir and --token are required")
	}
	cfg := Config{
		StateDir: *stateDir, Token: *token, FileSD: *fileSD, IPBase: *ipBase,
		ActionDelay: *delay, RateLimit: *rate, RateWindow: *window, MaxHosts: *maxHosts,
	}
	if *pubkey != "" {
		b, err := os.ReadFile(*pubkey)
		if err != nil {
			return fmt.Errorf("--ssh-pubkey: %w", err)
		}
		cfg.LabKey = strings.TrimSpace(string(b))
	}
	if !*noHosts {
		m, err := hosts.NewManager(filepath.Join(*stateDir, "hosts"))
		if err != nil {
			return err
		}
		cfg.Hosts = m
	}
	switch *filter {
	case "off":
	case "auto", "nftables":
		nf, err := NewNFTables(*ipBase)
		switch {
		case err == nil && (cfg.Hosts != nil || *filter == "nftables"):
			cfg.Filter = nf
			log.Printf("firewalls are applied with nftables (table inet %s)", nf.Table)
		case *filter == "nftables":
			return fmt.Errorf("--firewalls nftables: %w", err)
		case err == nil:
			log.Printf("firewalls are API state only: droplets have no hosts")
		default:
			log.Printf("firewalls are API state only (%v): a port is closed when nothing listens on it", err)
		}
	default:
		return fmt.Errorf("--firewalls %q: use nftables, off or auto", *filter)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv, err := New(cfg)
	if err != nil {
		ln.Close()
		if cfg.Hosts != nil {
			cfg.Hosts.Close()
		}
		return err
	}
	log.Printf("DigitalOcean API emulator serving on http://%s (state in %s)", ln.Addr(), *stateDir)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	hs.Shutdown(shutdown)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
