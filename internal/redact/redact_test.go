package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:9093", "http://127.0.0.1:9093"},
		{"https://bob:s3cret@am.example:9093/am", "https://bob:xxxxx@am.example:9093/am"},
		{"https://bob@am.example", "https://bob@am.example"},
		{"https://:s3cret@am.example", "https://:xxxxx@am.example"},
		// Not URLs: still masked.
		{"http://bob:s3cret@am.example/\x7f", "http://xxxxx@am.example/\x7f"},
		{"http://bob:s3cret@[::1", "http://xxxxx@[::1"},
		{"http://bob:s3/cret@am:9093/", "http://xxxxx@am:9093/"},
	} {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	in := `alertmanager https://bob:s3cret@am.example:9093: Get "http://ann:p%40ss@10.0.0.1/api": refused; see http://docs.example/x?a=b:c@d`
	got := Text(in)
	for _, leak := range []string{"s3cret", "p%40ss"} {
		if strings.Contains(got, leak) {
			t.Errorf("Text left %q in %q", leak, got)
		}
	}
	want := `alertmanager https://bob:xxxxx@am.example:9093: Get "http://ann:xxxxx@10.0.0.1/api": refused; see http://docs.example/x?a=b:c@d`
	if got != want {
		t.Errorf("Text =\n%s\nwant\n%s", got, want)
	}
}
