package main

import (
	"context"

	"github.com/vigilops/vigil/lab/emulator"
)

// runEmulator runs the DigitalOcean API emulator until SIGTERM.
func runEmulator(_ context.Context, args []string) error { return emulator.Main(args) }
