package components

import (
	"reflect"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestRawCommand: a Raw command gets the text after its name as typed,
// quotes kept, and completes the identifier at the end of the line.
func TestRawCommand(t *testing.T) {
	var got []string
	r := &Registry{}
	r.Add(Spec{Name: "query", Raw: true,
		Complete: func(int) []string { return []string{"node_load1", "node_load15", "up", "job"} },
		Run: func(args []string) (tea.Cmd, error) {
			got = args
			return nil, nil
		}})
	if _, err := r.Run(`:query  sum by (job) (up{job="a b", x='y'}) 1h `); err != nil {
		t.Fatal(err)
	}
	if want := []string{`sum by (job) (up{job="a b", x='y'}) 1h`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
	if _, err := r.Run(":query"); err != nil || got != nil {
		t.Fatalf("%q %v", got, err)
	}
	// A runbook's command line, filled in, reaches it as one text.
	if _, err := r.RunArgs([]string{"query", "up{job=\"api\"}", "1h"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`up{job="api"} 1h`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("RunArgs: %q, want %q", got, want)
	}
	if c := r.Complete(`:query rate(node_lo`); !reflect.DeepEqual(c, []string{":query rate(node_load1", ":query rate(node_load15"}) {
		t.Fatalf("%q", c)
	}
	if c := r.Complete(`:query up{j`); !reflect.DeepEqual(c, []string{":query up{job"}) {
		t.Fatalf("%q", c)
	}
}

func TestTrailingIdent(t *testing.T) {
	for in, want := range map[string]string{"rate(node_lo": "node_lo", "up{": "", "a:b_c9": "a:b_c9", "": ""} {
		if got := TrailingIdent(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
