package ansible

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/playbook"
)

// testdata/adhoc.json is what `ansible all -m shell -a 'echo hi; echo err
// >&2; exit 3'` printed with the ansible.posix.json callback (Ansible
// 2.14), on a lab droplet and on an address nothing listens on.
func TestParseAdHoc(t *testing.T) {
	doc, err := os.ReadFile("testdata/adhoc.json")
	if err != nil {
		t.Fatal(err)
	}
	outs, err := ParseAdHoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]playbook.HostOutput{}
	for _, o := range outs {
		got[o.Host] = o
	}
	if o := got["ex-probe-1"]; o.Status != playbook.StatusFailed || o.RC != 3 || o.Stdout != "hi" || o.Stderr != "err" || o.Msg != "non-zero return code" || o.Duration != 9560*time.Microsecond {
		t.Errorf("failed host: %+v", o)
	}
	if o := got["ghost"]; o.Status != playbook.StatusUnreachable || o.RC != -1 || !strings.Contains(o.Msg, "Connection refused") {
		t.Errorf("unreachable host: %+v", o)
	}
	if len(outs) != 2 {
		t.Errorf("%d outcomes", len(outs))
	}
	if _, err := ParseAdHoc([]byte("PLAY [all] ****")); err == nil {
		t.Error("screen text was read as an outcome")
	}
}

func TestKeepTailCutsLongOutputs(t *testing.T) {
	long := strings.Repeat("é", playbook.MaxOutput) // two bytes each
	s, cut := keepTail(long + "end")
	if !cut || len(s) > playbook.MaxOutput || !strings.HasSuffix(s, "end") || !strings.HasPrefix(s, "é") {
		t.Fatalf("cut %v, %d bytes", cut, len(s))
	}
}

func FuzzParseAdHoc(f *testing.F) {
	if doc, err := os.ReadFile("testdata/adhoc.json"); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`{"plays":[{"tasks":[{"hosts":{"a":{"rc":1,"msg":{"x":1}}}}]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		outs, err := ParseAdHoc(doc)
		if err != nil {
			return
		}
		for _, o := range outs {
			if len(o.Stdout) > playbook.MaxOutput || len(o.Stderr) > playbook.MaxOutput {
				t.Fatalf("output over the bound: %d, %d", len(o.Stdout), len(o.Stderr))
			}
		}
	})
}
