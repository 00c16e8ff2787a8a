package kubernetes

import (
	"io"

	"k8s.io/klog/v2"
)

// LogTo sends client-go's own logs (klog: watch errors, retries) to w
// instead of stderr, where they would tear the TUI. Call it once at start.
func LogTo(w io.Writer) {
	klog.LogToStderr(false)
	klog.SetOutput(w)
}
