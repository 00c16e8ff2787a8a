// Command vigil-lab brings up, inspects and takes down the lab: a kwok
// Kubernetes cluster, Prometheus, Alertmanager, the lab exporter and the
// DigitalOcean emulator, all on loopback. Run from the lab module:
//
//	go run ./cmd/vigil-lab up|down|status [--memory]|env [--path]|load --apps N
//
// The exporter and emulator subcommands are the daemons that up starts.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: vigil-lab COMMAND [FLAGS]

  up                 bring the lab up (idempotent), write STATE/lab.env and STATE/vigil.yaml
  down               stop everything; fails if a process or port is left
  status [--memory]  what runs, with ports and pids; fails unless all of it runs
  env [--path]       print the env file (or its path)
  load --apps N      deploy N apps × 4 environments, 3 replicas each, for benchmarks

  exporter --kubeconfig K --listen ADDR   the lab exporter (started by up)
  emulator ARGS...                        the DigitalOcean API emulator (started by up)

The state dir is $VIGIL_LAB_STATE, else $XDG_STATE_HOME/vigil-lab, else
~/.local/state/vigil-lab; binaries are cached in $VIGIL_LAB_CACHE/bin, else
$XDG_CACHE_HOME/vigil-lab/bin, else ~/.cache/vigil-lab/bin.
`

var commands = map[string]func(ctx context.Context, args []string) error{
	"up":       runUp,
	"down":     runDown,
	"status":   runStatus,
	"env":      runEnv,
	"load":     runLoad,
	"exporter": runExporter,
	"emulator": runEmulator,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "vigil-lab: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "vigil-lab %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
