package components

import (
	"strconv"
	"time"
)

// Age is a short duration, for ages and data ages in every pane: 45s, 12m,
// 3h (up to two days), then 5d. A negative duration is 0s.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(int(d.Seconds()), 0)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}
