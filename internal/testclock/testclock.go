// Package testclock is the fixture clock of vigil's unit tests: the "now"
// their fixtures are built around and their golden files show.
//
// VIGIL_TEST_CLOCK_YEARS shifts it by a whole number of years (make
// test-clock runs the suites at +28 and -28), so that a test mixing the
// fixture clock with the real one fails the day it is written, not the day
// the real date passes the fixture's. A shift by a multiple of 28 years
// keeps the weekday of every date and the leap-year pattern (between 1901
// and 2099), so everything rendered but the year stays the same; Unshift
// puts the year back for golden files.
package testclock

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"
)

// Env names the variable holding the shift in years, e.g. "28" or "-28".
const Env = "VIGIL_TEST_CLOCK_YEARS"

// baseYear is the year of the unshifted epoch, the one in golden files.
const baseYear = 2026

// Years is the shift read from Env, 0 when it is unset. A value that is not
// an integer panics: a run asked for a shift it would not get.
func Years() int {
	v := os.Getenv(Env)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("testclock: %s=%q: want a whole number of years such as 28 or -28", Env, v))
	}
	return n
}

// Epoch is the fixtures' now: 2026-11-29 14:00 UTC, shifted by Years.
func Epoch() time.Time {
	return time.Date(baseYear+Years(), time.November, 29, 14, 0, 0, 0, time.UTC)
}

// date matches a YYYY-MM-DD date not preceded by a digit.
var date = regexp.MustCompile(`(^|[^0-9])([0-9]{4})(-[01][0-9]-[0-3][0-9])`)

// Unshift returns s with the year of every YYYY-MM-DD date in it moved back
// by Years, so that a view rendered under a shifted clock compares equal to
// the golden file written without one.
func Unshift(s string) string {
	shift := Years()
	if shift == 0 {
		return s
	}
	return date.ReplaceAllStringFunc(s, func(m string) string {
		g := date.FindStringSubmatch(m)
		y, _ := strconv.Atoi(g[2])
		return fmt.Sprintf("%s%04d%s", g[1], y-shift, g[3])
	})
}
