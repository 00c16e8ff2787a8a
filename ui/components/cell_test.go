package components

import (
	"testing"
	"time"
)

func TestCell(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"api", 5, "api  "},
		{"api", 3, "api"},
		{"prod/api", 5, "prod…"},
		{"日本語", 5, "日本…"},
		{"日本語", 4, "日… "},
		{"\x1b[1mbold\x1b[m", 6, "\x1b[1mbold\x1b[m  "},
		{"api", 0, ""},
		{"api", -2, ""},
	}
	for _, tt := range tests {
		if got := Cell(tt.s, tt.w); got != tt.want {
			t.Errorf("Cell(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 45 * time.Second: "45s", 90 * time.Second: "1m", 59 * time.Minute: "59m",
		time.Hour: "1h", 47 * time.Hour: "47h", 48 * time.Hour: "2d", 10 * 24 * time.Hour: "10d",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}
