// Command vigil is the terminal operations console: run without arguments
// it opens the console; its subcommands act from the shell under the same
// rules. What the files hold:
//
//   - main.go, root.go: the command line, exit codes, the console's start;
//   - services.go and wire_*.go: the ops services built from the config,
//     with their integrations (Kubernetes, DigitalOcean, Ansible,
//     Prometheus, Alertmanager) and the journal;
//   - confirm.go: the confirmation of dangerous verbs on a terminal, and
//     their refusal without one (--yes);
//   - one file per verb: promote, rollback, prepare, status, alerts, ack,
//     inventory, trustkey, auditcmd, configcmd, serve, version.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code. A
// dangerous verb asks on stdin when it is a terminal.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var (
		reported *reportedError
		coded    *exitCodeError
		cfgErrs  config.Errors
	)
	switch {
	case errors.As(err, &coded):
		if coded.msg != "" {
			fmt.Fprintf(stderr, "vigil: %s\n", redact.Text(coded.msg))
		}
		return coded.code
	case errors.As(err, &reported):
	case errors.As(err, &cfgErrs) && len(cfgErrs) > 0:
		for _, e := range cfgErrs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "vigil: %s has %d error(s): fix them, then check with `vigil config validate %s`\n",
			cfgErrs[0].File, len(cfgErrs), cfgErrs[0].File)
	default:
		// The last guard: no URL's password reaches the terminal.
		fmt.Fprintf(stderr, "vigil: %s\n", redact.Text(err.Error()))
	}
	return 1
}

// reportedError marks a failure whose details the command already printed.
type reportedError struct{ msg string }

func (e *reportedError) Error() string { return e.msg }
