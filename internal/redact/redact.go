// Package redact masks the passwords of URLs before they are printed: in
// errors, logs and command output. It masks as net/url's URL.Redacted does.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// mask replaces a password, as url.URL.Redacted writes it.
const mask = "xxxxx"

// URL returns raw with the password of its userinfo masked. In a string
// that does not parse as a URL, everything between :// and the last @ is
// masked (a password may hold a / that ends the parse early).
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://" + mask + rest[at:]
	}
	return Text(raw)
}

// userinfo is the scheme://user:password@ part of a URL within text.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*):[^/?#@\s]*@`)

// Text masks the password of every URL found in s (an error message, say).
func Text(s string) string {
	return userinfo.ReplaceAllString(s, "${1}:"+mask+"@")
}
