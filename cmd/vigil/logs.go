package main

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/release"
)

func newLogsCmd(g *globals) *cobra.Command {
	var env string
	q := logs.Query{}
	var timestamps, prefix bool
	cmd := &cobra.Command{
		Use:   "logs APP --env ENV",
		Short: "Print the log lines of every pod of an app, as stern does",
		Long: "Print the log lines of APP's pods in ENV (or of one pod, one container) from --since ago,\n" +
			"each prefixed with its pod and container, in a colour per pod unless NO_COLOR is set or\n" +
			"stdout is not a terminal. With --follow, vigil keeps streaming until interrupted: pods that\n" +
			"appear are added, deleted ones say so and leave, and a broken stream resumes by itself.\n" +
			"--previous prints the previous container of restarted pods (a crash's last words).\n" +
			"Pods added or gone and interrupted streams are reported on stderr.\n\n" +
			"Exit codes: 0 done (or interrupted while following), 1 a log could not be read,\n" +
			"2 bad arguments (an unknown environment, a regex that does not compile).",
		Example: "  vigil logs api --env prod --follow\n" +
			"  vigil logs api --env prod --since 1h --grep 'status=500' --exclude healthz\n" +
			"  vigil logs worker --env dev --pod worker-6cbb95fcbd-lm5jr --previous",
		Args: releaseArgs("logs APP --env ENV [--pod P] [--container C] [--since D] [--follow] [--grep RE] [--exclude RE] [--previous] [--timestamps]", "env", &env),
		RunE: func(cmd *cobra.Command, args []string) error {
			if q.Since < 0 || (q.Since == 0 && cmd.Flags().Changed("since")) {
				return usageError("invalid --since %s: give a positive duration such as 30s, 15m or 2h", q.Since)
			}
			if _, err := logs.NewFilter(q.Include, q.Exclude); err != nil {
				return usageError("%v", flagNames(err))
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Kubernetes == nil {
				return fmt.Errorf("%s has no kubernetes section: add one with the environments (vigil config init writes an example)", g.configName())
			}
			if err := names(args[0], env)(cfg, g.configName()); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// client-go's own retries would print on stderr: the streams say
			// what broke themselves.
			kubernetes.LogTo(io.Discard)
			svc, err := newLogs(ctx, wiring{cfg: cfg}, nil)
			if err != nil {
				return err
			}
			q.Env, q.App = env, args[0]
			ch, err := svc.Follow(ctx, q)
			if err != nil {
				return err
			}
			p := newLinePrinter(cmd.OutOrStdout(), cmd.ErrOrStderr(), timestamps, prefix)
			streams, failed := p.print(ch)
			switch {
			case q.Previous && streams == 0:
				return &exitCodeError{code: release.ExitFailed, msg: fmt.Sprintf("no container of %s in %s has restarted: there is no previous log", args[0], env)}
			case failed && !q.Follow:
				return exitCode(release.ExitFailed)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&env, "env", "", "the environment of the app (required)")
	f.StringVar(&q.Pod, "pod", "", "only this pod of the app")
	f.StringVarP(&q.Container, "container", "c", "", "only this container")
	f.DurationVar(&q.Since, "since", 0, "lines from this long ago on (default: the config's kubernetes.logs.since, 15m unless set; with --previous, the whole log)")
	f.BoolVarP(&q.Follow, "follow", "f", false, "keep streaming, adding the pods that appear, until interrupted")
	f.StringVarP(&q.Include, "grep", "g", "", "only lines matching this regular expression")
	f.StringVarP(&q.Exclude, "exclude", "e", "", "no line matching this regular expression")
	f.BoolVarP(&q.Previous, "previous", "p", false, "the previous container of restarted pods")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "print each line's time (RFC 3339, the container runtime's)")
	f.BoolVar(&prefix, "prefix", true, "print each line's pod and container before it")
	return cmd
}

// flagNames words a bad regex with the flag it came in.
func flagNames(err error) error {
	var bad *logs.BadRegexError
	if errors.As(err, &bad) {
		switch bad.What {
		case "include":
			bad.What = "--grep"
		case "exclude":
			bad.What = "--exclude"
		}
	}
	return err
}

// podColours are the colours of the pods' names, as stern's: each pod
// gets the one its name hashes to.
var podColours = []string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

// linePrinter writes lines as stern does: "pod container text", the pod in
// its colour, the container dimmed.
type linePrinter struct {
	out, errOut io.Writer
	timestamps  bool
	prefix      bool
	colour      bool
}

func newLinePrinter(out, errOut io.Writer, timestamps, prefix bool) *linePrinter {
	return &linePrinter{out: out, errOut: errOut, timestamps: timestamps, prefix: prefix,
		colour: os.Getenv("NO_COLOR") == "" && isTerminal(out)}
}

func (p *linePrinter) paint(code, s string) string {
	if !p.colour {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *linePrinter) podColour(pod string) string {
	h := fnv.New32a()
	h.Write([]byte(pod))
	return podColours[h.Sum32()%uint32(len(podColours))]
}

// print writes the lines until ch closes, and returns how many streams
// there were and whether one broke. Lines go out in blocks: a follow of
// thousands of lines a second costs a write per block, not per line.
func (p *linePrinter) print(ch <-chan logs.Line) (streams int, failed bool) {
	w := bufio.NewWriterSize(p.out, 64<<10)
	defer w.Flush()
	var b []byte
	for l := range ch {
		switch l.Kind {
		case logs.KindLine:
			b = b[:0]
			if !p.colour {
				_, _ = w.Write(logs.AppendText(b, l, p.prefix, p.timestamps))
				break
			}
			if p.prefix {
				b = append(b, p.paint(p.podColour(l.Pod), l.Pod)...)
				b = append(b, ' ')
				b = append(b, p.paint("2", l.Container)...)
				b = append(b, ' ')
			}
			if p.timestamps && !l.Time.IsZero() {
				b = l.Time.UTC().AppendFormat(b, logs.TimeFormat)
				b = append(b, ' ')
			}
			b = append(b, l.Text...)
			b = append(b, '\n')
			_, _ = w.Write(b)
		case logs.KindPodAdded:
			streams++
			w.Flush()
			fmt.Fprintf(p.errOut, "%s %s › %s\n", p.paint("92;1", "+"), p.paint(p.podColour(l.Pod), l.Pod), l.Container)
		case logs.KindPodGone:
			w.Flush()
			fmt.Fprintf(p.errOut, "%s %s › %s\n", p.paint("91;1", "-"), p.paint(p.podColour(l.Pod), l.Pod), l.Container)
		case logs.KindError:
			w.Flush()
			failed = true
			fmt.Fprintf(p.errOut, "%s %s\n", p.paint("91;1", "!"), l.Text)
		case logs.KindResumed:
			w.Flush()
			fmt.Fprintf(p.errOut, "%s %s\n", p.paint("92;1", "✓"), l.Text)
		}
		// Flush when nothing more is waiting: a follow shows each line
		// as it comes, a read of the past writes in blocks.
		if len(ch) == 0 {
			w.Flush()
		}
	}
	return streams, failed
}
