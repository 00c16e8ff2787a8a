package kubernetes

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestLogToKeepsClientGoOffTheTerminal(t *testing.T) {
	var buf bytes.Buffer
	LogTo(&buf)
	t.Cleanup(func() { LogTo(os.Stderr) })
	klog.Warning("watch of *v1.Deployment ended")
	klog.Flush()
	if !strings.Contains(buf.String(), "watch of *v1.Deployment ended") {
		t.Fatalf("klog did not write to the given writer: %q", buf.String())
	}
}
