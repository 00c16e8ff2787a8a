package logs

import (
	"regexp"
	"testing"
)

// TestIsError agrees with the case-insensitive regex it stands for.
func TestIsError(t *testing.T) {
	re := regexp.MustCompile(`(?i)error|exception|fatal|panic|" 5\d\d `)
	for _, s := range []string{
		Access(1), Error(1), "", "e", "ERROR", "Fatal: x", "a PANIC", "NullPointerException", "errr", "fata",
		`"GET / HTTP/1.1" 503 0 1ms`, `"GET / HTTP/1.1" 5031 0`, `"GET / HTTP/1.1" 404 0 1ms`, `" 500 `, `" 50`,
		"\tat shop/api/store.(*Orders).Get(0x0) store.go:88", "level=info msg=\"listening\" addr=:8080",
		"panic: config: required key database.url is missing", "exit status 1", "ÉRROR error",
	} {
		if got, want := IsError(s), re.MatchString(s); got != want {
			t.Errorf("IsError(%q) = %v, the regex says %v", s, got, want)
		}
	}
}

func FuzzIsError(f *testing.F) {
	re := regexp.MustCompile(`(?i)error|exception|fatal|panic|" 5\d\d `)
	for _, s := range []string{Access(1), Error(1), `" 500 `, "FaTaL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsError(s), re.MatchString(s); got != want {
			t.Errorf("IsError(%q) = %v, the regex says %v", s, got, want)
		}
	})
}
