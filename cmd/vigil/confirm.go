package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
)

// recorder journals an action's outcome: *audit.Journal, incident.Journal.
type recorder interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

// confirmer is the one rule of every verb that acts, as the console's
// dialog applies it: an action declared dangerous (access.Action.Dangerous)
// asks on a terminal, by typing the name of a protected target or else y;
// with no terminal, or when the answer is anything else, it is refused
// (exit 3) and journaled as refused, unless --yes was given. An actor the
// guard refuses is not asked: the ops method refuses and journals that.
type confirmer struct {
	ctx      context.Context
	actor    access.Actor
	guard    access.Guard
	journal  recorder // nil: nothing to journal a refusal to
	yes      bool
	terminal bool // in is a terminal a person answers on
	in       io.Reader
	out      io.Writer
}

// yesFlag adds --yes to a verb whose action may ask, and returns it.
func yesFlag(cmd *cobra.Command) *bool {
	return cmd.Flags().Bool("yes", false, "do it without asking to confirm (required without a terminal when the action is dangerous)")
}

// newConfirmer reads the answer on cmd's stdin. The question goes to
// stdout, beside the plan, unless stdout is redirected and stderr is the
// terminal: the person answering must see what they are asked.
func newConfirmer(cmd *cobra.Command, g *globals, actor access.Actor, journal recorder, yes bool) *confirmer {
	in, out := cmd.InOrStdin(), cmd.OutOrStdout()
	if !isTerminal(out) && isTerminal(cmd.ErrOrStderr()) {
		out = cmd.ErrOrStderr()
	}
	return &confirmer{ctx: cmd.Context(), actor: actor, guard: access.Guard{ReadOnly: g.readOnly}, journal: journal,
		yes: yes, terminal: isTerminal(in), in: in, out: out}
}

// isTerminal reports whether f (a stdin, stdout or stderr) is a terminal
// (not /dev/null, which is a character device too).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// confirm returns nil when the action c confirms may go on, or a refusal
// (access.IsRefusal), already journaled.
func (k *confirmer) confirm(c access.Confirmation) error {
	if !c.Needed() || k.yes || k.guard.Check(k.actor, c.Action) != nil {
		return nil
	}
	var err error
	if !k.terminal {
		err = c.Declined("not confirmed, there is no terminal to ask on")
	} else {
		fmt.Fprint(k.out, c.Prompt())
		line, rerr := bufio.NewReader(k.in).ReadString('\n')
		if rerr == nil || line != "" {
			if c.Accepts(line) {
				return nil
			}
			err = c.Declined("not confirmed")
		} else {
			fmt.Fprintln(k.out)
			err = c.Declined("not confirmed, the terminal closed")
		}
	}
	if k.journal != nil {
		if jerr := k.journal.Record(k.ctx, k.actor, c.JournalEntry(), c.Target, nil, err); jerr != nil {
			err = errors.Join(err, fmt.Errorf("and the journal failed: %w", jerr))
		}
	}
	return err
}

// release adapts confirm to the release service's CLI methods.
func (k *confirmer) release() release.Confirm { return k.confirm }
