package components

import (
	"net/url"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// LinkTarget returns raw as the target of a terminal hyperlink (OSC 8),
// and whether it may be one: an http or https URL with a host, of
// printable ASCII only, so that text from outside (an alert's annotation)
// can neither end the escape sequence nor start another.
func LinkTarget(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", false
	}
	return raw, true
}

// Hyperlink shows text as a hyperlink to target (OSC 8), which terminals
// that know it open on a click; others show text only. target must come
// from LinkTarget; text must be printable. ansi.Truncate keeps the closing
// sequence when it cuts the text.
func Hyperlink(target, text string) string {
	return ansi.SetHyperlink(target) + text + ansi.ResetHyperlink()
}
