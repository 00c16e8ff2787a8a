package testclock

import (
	"testing"
	"time"
)

func TestEpochFollowsTheShift(t *testing.T) {
	base := time.Date(2026, time.November, 29, 14, 0, 0, 0, time.UTC)
	for _, years := range []string{"", "0", "28", "-28", "56"} {
		t.Run("years="+years, func(t *testing.T) {
			t.Setenv(Env, years)
			got := Epoch()
			if got.Year() != 2026+Years() || got.YearDay() != base.YearDay() || got.Hour() != 14 || got.Location() != time.UTC {
				t.Errorf("Epoch() = %v under %s=%q", got, Env, years)
			}
			if got.Weekday() != base.Weekday() {
				t.Errorf("Epoch() = %v is a %v, the unshifted epoch a %v: goldens showing weekdays would change", got, got.Weekday(), base.Weekday())
			}
		})
	}
}

func TestTheRunsShiftIsAWeekdayKeepingOne(t *testing.T) {
	// make test-clock sets the variable; a shift that is not a multiple of
	// 28 years moves weekdays and leap days, and goldens with them.
	if y := Years(); y%28 != 0 {
		t.Errorf("%s=%d: use a multiple of 28 years", Env, y)
	}
}

func TestUnshift(t *testing.T) {
	const golden = "time 2026-11-29T13:32:31Z │ created 2026-11-12 22:00 (16d ago) │ port 12054-11-29 v1.2054"
	t.Setenv(Env, "")
	if got := Unshift(golden); got != golden {
		t.Errorf("unshifted clock: Unshift changed %q to %q", golden, got)
	}
	t.Setenv(Env, "28")
	shifted := "time 2054-11-29T13:32:31Z │ created 2054-11-12 22:00 (16d ago) │ port 12054-11-29 v1.2054"
	if got := Unshift(shifted); got != golden {
		t.Errorf("Unshift(%q)\n = %q\nwant %q", shifted, got, golden)
	}
	t.Setenv(Env, "-28")
	shifted = "time 1998-11-29T13:32:31Z │ created 1998-11-12 22:00 (16d ago) │ port 12054-11-29 v1.2054"
	if got := Unshift(shifted); got != golden {
		t.Errorf("Unshift(%q)\n = %q\nwant %q", shifted, got, golden)
	}
}

func TestYearsRefusesNonsense(t *testing.T) {
	t.Setenv(Env, "ahead")
	defer func() {
		if recover() == nil {
			t.Error("Years() accepted a shift that is not a number")
		}
	}()
	Years()
}
