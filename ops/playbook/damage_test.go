package playbook

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedHistory: corrupted copies of a real run history are refused
// at open with the file named, or read without a panic or a fault.
func TestDamagedHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.db")
	h, err := OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := record(h, fmt.Sprintf("run-%02d", i), 30); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(bytes.TrimRight(good, "\x00"))
	copies := map[string][]byte{"truncated": good[:8192+10], "random bytes": bytes.Repeat([]byte{0x9e, 0x37}, len(good)/2)}
	for i := range 20 {
		b := bytes.Clone(good)
		off := 8192 + i*(end-8192-16)/19
		for k := off; k < off+16; k++ {
			b[k] ^= 0xff
		}
		copies[fmt.Sprintf("16 bytes inverted at %d", off)] = b
	}
	refused := 0
	for name, data := range copies {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "runs.db")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := OpenHistory(p)
			if err != nil {
				if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "move it aside") {
					t.Fatalf("OpenHistory: %v", err)
				}
				if now, _ := os.ReadFile(p); !bytes.Equal(now, data) {
					t.Fatal("a damaged history was written to")
				}
				refused++
				return
			}
			defer h.Close()
			runs, _ := h.Runs(0)
			for _, r := range runs {
				_, _ = h.Get(r.ID)
				_, _ = h.Events(r.ID, Filter{}, 0, 0)
			}
		})
	}
	if refused < 2 {
		t.Errorf("%d of %d copies refused", refused, len(copies))
	}
}
