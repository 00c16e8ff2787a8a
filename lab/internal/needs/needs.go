// Package needs lets a lab test say what it needs from the machine: the
// test is skipped where that is missing, and fails instead under
// VIGIL_LAB_REQUIRED, which make test sets after installing everything.
package needs

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of program name, from Debian package pkg.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed: apt-get install "+pkg)
	}
	return path
}

// Missing skips the test, or fails it under VIGIL_LAB_REQUIRED, with msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("VIGIL_LAB_REQUIRED") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
