package incident

import (
	"fmt"
	"regexp"
	"strconv"
)

// MatchType is a label matcher's operator.
type MatchType string

const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

// Matcher is one Alertmanager label matcher. Matchers are parsed by
// Alertmanager's own parser behind the MatcherParser port; NewMatcher only
// builds the matching side.
type Matcher struct {
	Name  string    `json:"name"`
	Type  MatchType `json:"type"`
	Value string    `json:"value"`
	re    *regexp.Regexp
}

// NewMatcher returns a matcher; regular expressions are anchored at both
// ends, as Alertmanager anchors them.
func NewMatcher(t MatchType, name, value string) (Matcher, error) {
	m := Matcher{Name: name, Type: t, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %s%s%q: bad regular expression: %w", name, t, value, err)
		}
		m.re = re
	default:
		return Matcher{}, fmt.Errorf("matcher %s: unknown operator %q: use =, !=, =~ or !~", name, t)
	}
	return m, nil
}

// Matches reports whether a label value (empty when the label is absent)
// satisfies the matcher.
func (m Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

func (m Matcher) String() string {
	return m.Name + string(m.Type) + strconv.Quote(m.Value)
}

// MatchAll reports whether labels satisfy every matcher.
func MatchAll(ms []Matcher, labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels[m.Name]) {
			return false
		}
	}
	return true
}
